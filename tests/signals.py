"""Starting a child process with a default SIGINT, however the test run itself was started.

A shell or CI agent that starts jobs in the background (``nohup``, ``cmd &`` without job
control) runs them with SIGINT ignored, and an ignored signal stays ignored across
``exec``: a child that should stop on Ctrl-C would then ignore it. Python installs its
KeyboardInterrupt handler only when SIGINT is not ignored at start-up. So the command runs
behind a two-line launcher that restores the default and ``exec``s it: the same process
id, no ``preexec_fn`` (unsafe with threads), and Python 3.9 compatible.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_LAUNCHER = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def with_default_sigint(command: Sequence[str]) -> list[str]:
    """``command`` prefixed so that it starts with SIGINT at its default disposition."""
    return [sys.executable, "-c", _LAUNCHER, *command]
