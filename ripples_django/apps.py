"""The app config: adding ``ripples_django`` to ``INSTALLED_APPS`` registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class RipplesConfig(AppConfig):
    name = "ripples_django"
    verbose_name = "Ripples"

    def ready(self) -> None:
        from .checks import check_settings

        checks.register(check_settings)
