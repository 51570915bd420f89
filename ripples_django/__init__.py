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
#: Never contacted (the fallback client is disabled); set so a junk RIPPLES_URL cannot fail it.
_FALLBACK_URL = "https://api.ripples.sh"


def _build_client() -> Ripples:
    """The project's client; a misconfiguration is logged and gives a disabled client.

    A wrong setting must not turn every view that tracks into a 500: the
    system checks (``manage.py check``) report it with a hint instead.
    """
    try:
        return conf.make_client()
    except Exception as exc:  # RipplesError, ImproperlyConfigured, or a wrongly typed value
        logger.error(
            "Ripples is misconfigured, so events are validated but not sent: %s "
            "(`python manage.py check` explains it)",
            exc,
        )
        return Ripples(disabled=True, base_url=_FALLBACK_URL)


class _LazyRipples:
    """Stands in for the ``Ripples`` client until first use, then forwards every attribute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Ripples | None = None

    def _get_client(self) -> Ripples:
        client = self._client
        if client is None:
            with self._lock:  # two threads racing on the first event build one client
                client = self._client
                if client is None:
                    client = self._client = _build_client()
        return client

    def _reset(self) -> None:
        """Forget the client so the next use reads the settings again (tests)."""
        with self._lock:
            self._client = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get_client(), name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(Ripples)) | set(super().__dir__()))

    def __repr__(self) -> str:
        client = self._client
        return (
            f"<lazy {client!r}>" if client is not None else "<lazy Ripples from settings.RIPPLES>"
        )


#: The project's client, typed as ``Ripples`` so editors and mypy see the full API.
ripples = cast(Ripples, _LazyRipples())


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == conf.SETTING_NAME:
        cast(_LazyRipples, ripples)._reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="ripples_django.reset_client")
