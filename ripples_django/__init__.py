"""Ripples for Django: ``RipplesMiddleware``, the ``RIPPLES`` setting and the project's client.

``from ripples_django import ripples`` gives one ``ripples.Ripples`` built from
``settings.RIPPLES`` on first use and shared by every thread and coroutine.
It is built lazily because settings are not ready when this module is
imported, and dropped when ``override_settings`` changes ``RIPPLES``.

``RIPPLES`` is a dict of ``ripples.Ripples``'s keywords in upper case (``SECRET_KEY``,
``BASE_URL``, ``TIMEOUT`` in seconds, ``DISABLED``, ...); a value left out falls back
to the environment variable the core reads (``RIPPLES_SECRET_KEY``, ``RIPPLES_URL``,
``RIPPLES_DISABLED``). A misconfiguration (no key, an unknown key, a bad value) does
not raise in views: it is logged on ``ripples.django``, the client is disabled (calls
are validated, nothing is sent), and ``manage.py check`` reports it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, cast

from django.core.signals import setting_changed

from ripples import Ripples

from . import conf
from .middleware import RipplesMiddleware

__all__ = ["RipplesMiddleware", "ripples"]

logger = logging.getLogger("ripples.django")


def _build_client() -> Ripples:
    """The project's client (see :mod:`ripples_django.conf` for the missing-key policy)."""
    return conf.make_client()


class _ProjectRipples(Ripples):
    """A real ``Ripples`` whose every call goes to the client built from ``settings.RIPPLES``.

    ``isinstance(ripples, Ripples)`` holds and ``with ripples:`` works. The
    client is built on first use, not at import (settings are not ready then),
    once for all threads, and dropped when ``override_settings`` changes
    ``RIPPLES``. Any other attribute, including methods added to ``Ripples``
    later, is read from the current client.
    """

    def __init__(self) -> None:  # no sender of its own: it lives on the built client
        self._project_lock = threading.Lock()
        self._project_client: Ripples | None = None

    def _get_client(self) -> Ripples:
        client = self._project_client
        if client is None:
            with self._project_lock:  # two threads racing on the first event build one client
                client = self._project_client
                if client is None:
                    client = self._project_client = _build_client()
        return client

    def _reset(self) -> None:
        """Forget the client so the next use reads the settings again (tests)."""
        with self._project_lock:
            self._project_client = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_project_"):  # not set yet: never recurse into the client
            raise AttributeError(name)
        return getattr(self._get_client(), name)

    def __repr__(self) -> str:
        client = self._project_client
        if client is None:
            return "<lazy Ripples from settings.RIPPLES>"
        return f"<lazy {client!r}>"

    @property
    def options(self) -> dict[str, Any]:
        return self._get_client().options

    def revenue(self, *args: Any, **kwargs: Any) -> None:
        self._get_client().revenue(*args, **kwargs)

    def signup(self, *args: Any, **kwargs: Any) -> None:
        self._get_client().signup(*args, **kwargs)

    def track(self, *args: Any, **kwargs: Any) -> None:
        self._get_client().track(*args, **kwargs)

    def identify(self, *args: Any, **kwargs: Any) -> None:
        self._get_client().identify(*args, **kwargs)

    def subscription(self, *args: Any, **kwargs: Any) -> None:
        self._get_client().subscription(*args, **kwargs)

    def flush(self, timeout: float | None = None) -> bool:
        return self._get_client().flush(timeout)

    async def aflush(self, timeout: float | None = None) -> bool:
        return await self._get_client().aflush(timeout)

    def close(self, timeout: float | None = None) -> bool:
        return self._get_client().close(timeout)

    shutdown = close


#: The project's client: a ``Ripples`` built from ``settings.RIPPLES`` on first use.
ripples: Ripples = _ProjectRipples()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == conf.SETTING_NAME:
        cast(_ProjectRipples, ripples)._reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="ripples_django.reset_client")
