"""The app config: adding ``ripples_django`` to ``INSTALLED_APPS`` registers the system checks
and checks ``settings.RIPPLES`` when the project starts."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class RipplesConfig(AppConfig):
    name = "ripples_django"
    verbose_name = "Ripples"

    def ready(self) -> None:
        from .checks import check_settings

        checks.register(check_settings)
        # Fail at startup on a wrong RIPPLES (RipplesConfigError), not at the first event;
        # a missing key only disables sending (see ripples_django.conf).
        from .conf import validate

        validate()
