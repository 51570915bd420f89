"""System checks: a Ripples misconfiguration shows up in ``manage.py check``, not in production.

Ids are stable so a project can silence one with ``SILENCED_SYSTEM_CHECKS``:

- ``ripples_django.E001``: no secret key (unless Ripples is disabled);
- ``ripples_django.E002``: ``RIPPLES`` is not a dict, has unknown keys or invalid values;
- ``ripples_django.W001``: ``RipplesMiddleware`` is not in ``MIDDLEWARE``;
- ``ripples_django.W002``: the base URL is plain ``http`` on a non-loopback host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from ripples._options import is_loopback_host, lacks_secret_key

from . import conf
from .middleware import RipplesMiddleware


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Registered by ``RipplesConfig.ready()``."""
    messages = _check_client()
    if not _middleware_installed():
        messages.append(
            Warning(
                f"{conf.MIDDLEWARE_PATH} is not in MIDDLEWARE.",
                hint="Add it first in MIDDLEWARE so events carry the visitor "
                "and go out after each request without an explicit flush().",
                id="ripples_django.W001",
            )
        )
    return messages


def _check_client() -> list[CheckMessage]:
    """Check ``RIPPLES`` with the core's option table, without building a client."""
    try:
        values = conf.validate()
        missing_key = lacks_secret_key(conf.client_kwargs())
    except Exception as exc:  # RipplesConfigError, or a broken settings object
        return [_invalid(exc)]
    if missing_key:
        return [
            Error(
                "No Ripples secret key is configured.",
                hint='Set RIPPLES = {"SECRET_KEY": ...} or the RIPPLES_SECRET_KEY '
                'environment variable, or RIPPLES = {"DISABLED": True} to send nothing.',
                id="ripples_django.E001",
            )
        ]
    if _is_plain_http_on_public_host(str(values["base_url"])):
        return [
            Warning(
                "The Ripples base URL uses plain http on a non-loopback host.",
                hint="Use https, so the secret key and events are encrypted in transit.",
                id="ripples_django.W002",
            )
        ]
    return []


def _invalid(exc: Exception) -> Error:
    return Error(
        f"Invalid settings.{conf.SETTING_NAME}: {exc}",
        hint="Keys are the keywords of ripples.Ripples() in upper case, e.g. "
        '{"SECRET_KEY": ..., "BASE_URL": ..., "TIMEOUT": 3}.',
        id="ripples_django.E002",
    )


def _is_plain_http_on_public_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback_host(parts.hostname or "")


def _middleware_installed() -> bool:
    for path in getattr(settings, "MIDDLEWARE", None) or ():
        if path == conf.MIDDLEWARE_PATH:
            return True
        try:  # a project subclass counts too
            middleware = import_string(path)
        except Exception:  # a broken entry is Django's to report, not ours
            continue
        if isinstance(middleware, type) and issubclass(middleware, RipplesMiddleware):
            return True
    return False
