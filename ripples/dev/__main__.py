"""``python -m ripples.dev``: the ``ripples dev`` command without the package CLI."""

from __future__ import annotations

import sys

from ._cli import main

sys.exit(main())
