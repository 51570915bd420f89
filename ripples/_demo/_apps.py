"""The example projects and how to serve them: each under its real server, on a socket bound here.

The listening socket is bound by the demo on a free loopback port and handed to the
server as a file descriptor (gunicorn ``--bind fd://N``, uvicorn ``--fd N``), so no
other process can take the port between choosing it and serving on it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Optional

import requests

#: Sent by the apps and required by the collector: proves the key travels as a bearer token.
DEMO_KEY = "priv_demo_local_only"


@dataclass(frozen=True)
class Example:
    """One example project and how to serve it: ``serve`` is what its README runs."""

    name: str
    directory: str
    server: str
    serve: tuple[str, ...]
    #: (module, pip name) pairs this interpreter must have to serve the example.
    needs: tuple[tuple[str, str], ...]
    setup: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    def command(self, fd: int) -> list[str]:
        bind = ["--bind", f"fd://{fd}"] if self.server == "gunicorn" else ["--fd", str(fd)]
        return [sys.executable, "-m", self.server, *self.serve, *bind]


_GTHREAD = ("--workers", "2", "--threads", "4", "--worker-class", "gthread")
EXAMPLES = (
    Example(
        "django",
        "django_site",
        "gunicorn",
        ("budget_site.wsgi", *_GTHREAD),
        (("django", "Django"), ("gunicorn", "gunicorn"), ("ripples_django", "ripples[django]")),
        setup=("manage.py", "migrate", "--noinput", "--verbosity", "0"),
        env=(("DJANGO_SETTINGS_MODULE", "budget_site.settings"),),
    ),
    Example(
        "flask",
        "flask_app",
        "gunicorn",
        ("budget_flask:create_app()", *_GTHREAD),
        (("flask", "Flask"), ("gunicorn", "gunicorn"), ("ripples_flask", "ripples[flask]")),
    ),
    Example(
        "fastapi",
        "fastapi_app",
        "uvicorn",
        ("budget_api:app",),
        (("fastapi", "fastapi"), ("uvicorn", "uvicorn"), ("ripples_asgi", "ripples[asgi]")),
    ),
)


class DemoError(Exception):
    """The demo cannot run here; the message says what to do."""


# finding and starting the apps -------------------------------------------------------------


def examples_dir(explicit: Optional[str] = None) -> Path:
    """Where the example projects are: ``explicit``, else the installed package's copy.

    A wheel ships ``example_projects/`` as the package data ``ripples/_examples/`` (see
    setup.py); a source checkout or an editable install has no such copy and uses the
    checkout's ``example_projects/``. Raises ``DemoError`` when neither has them.
    """
    checkout = Path(__file__).resolve().parents[2] / "example_projects"
    candidates = [Path(explicit)] if explicit else [*_packaged_examples(), checkout]
    for path in candidates:
        if (path / "django_site" / "manage.py").is_file():
            return path
    raise DemoError(
        f"found no example projects at {candidates[-1]}.\n"
        "Reinstall the package (pip install --force-reinstall 'ripples[all]'), or run the demo "
        "from a clone of the repository:\n"
        "  python3 -m venv .venv && .venv/bin/pip install -e '.[all]' && .venv/bin/ripples demo\n"
        "or point to the examples with --examples PATH."
    )


def _packaged_examples() -> list[Path]:
    """``ripples/_examples`` of an installed wheel, when it is a directory on disk."""
    path = Path(str(resources.files("ripples") / "_examples"))
    return [path] if path.is_dir() else []


def missing_packages(examples: Sequence[Example]) -> list[str]:
    """The pip names of what this interpreter lacks to serve ``examples``."""
    missing: list[str] = []
    for example in examples:
        for module, package in example.needs:
            if package not in missing and importlib.util.find_spec(module) is None:
                missing.append(package)
    return missing


@dataclass
class RunningApp:
    example: Example
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Ask for a graceful shutdown (the SDK drains at exit); kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def app_environment(example: Example, collector_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("RIPPLES_DISABLED", "RIPPLES_SECRET_KEY", "RIPPLES_URL", "BUDGETS_DB"):
        env.pop(name, None)
    env.update(example.env)
    env.update(
        RIPPLES_SECRET_KEY=DEMO_KEY,
        RIPPLES_URL=collector_url,
        BUDGETS_DB=str(workdir / f"{example.name}.sqlite3"),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_app(example: Example, examples: Path, collector_url: str, workdir: Path) -> RunningApp:
    """Prepare the app's database and start its server on a loopback socket bound here."""
    cwd = examples / example.directory
    env = app_environment(example, collector_url, workdir)
    log_path = workdir / f"{example.name}.log"
    with open(log_path, "ab") as log:
        if example.setup:
            done = subprocess.run(
                [sys.executable, *example.setup], cwd=cwd, env=env, stdout=log, stderr=log
            )
            if done.returncode:
                raise DemoError(
                    f"{example.name}: `{' '.join(example.setup)}` failed; see {log_path}"
                )
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            listener.set_inheritable(True)
            fd = listener.fileno()
            process = subprocess.Popen(
                example.command(fd), cwd=cwd, env=env, stdout=log, stderr=log, pass_fds=(fd,)
            )
            port = listener.getsockname()[1]
        finally:
            listener.close()  # the server holds its own copy now
    return RunningApp(example, f"http://127.0.0.1:{port}", process, log_path)


def wait_until_ready(app: RunningApp, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise DemoError(f"{app.example.name} exited at start:\n{app.log_tail()}")
        try:
            if requests.get(app.url + "/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling a starting server: nothing to wait on instead
    raise DemoError(f"{app.example.name} did not answer within {timeout:g}s:\n{app.log_tail()}")
