"""Ripples for Django: ``RipplesMiddleware``, the ``RIPPLES`` setting and the project's client.

``from ripples_django import ripples`` gives one ``ripples.Ripples`` built from
``settings.RIPPLES`` on first use and shared by every thread and coroutine.
It is built lazily because settings are not ready when this module is
imported, and dropped when ``override_settings`` changes ``RIPPLES``.
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
