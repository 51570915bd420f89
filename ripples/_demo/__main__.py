"""``python -m ripples._demo``: the demo without the ``ripples`` entry point."""

from __future__ import annotations

from . import main

raise SystemExit(main())
