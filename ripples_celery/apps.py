"""``"ripples_celery"`` in Django's ``INSTALLED_APPS``: install with the project's app and client.

The Celery app is ``settings.CELERY_APP`` (a dotted path such as
``"proj.celery.app"``) or else ``celery.current_app``; the client is
``ripples_django.ripples``, the project's shared client.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def celery_app() -> Any:
    """The Celery app named by ``settings.CELERY_APP``, or ``celery.current_app``.

    Raises ImproperlyConfigured when ``CELERY_APP`` does not import.
    """
    path = getattr(settings, "CELERY_APP", None)
    if path is None:
        from celery import current_app

        return current_app._get_current_object()
    if not isinstance(path, str):
        return path  # the app object itself
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"settings.CELERY_APP = {path!r} does not import: {exc}"
        ) from None


class RipplesCeleryConfig(AppConfig):
    name = "ripples_celery"
    verbose_name = "Ripples for Celery"

    def ready(self) -> None:
        from ripples_django import ripples

        from . import install

        install(celery_app(), client=ripples)
