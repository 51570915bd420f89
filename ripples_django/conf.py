"""The ``RIPPLES`` setting: the options of ``ripples.Ripples()`` as upper-case keys of one dict.

Read live from ``django.conf.settings`` (as django-cors-headers does), so
``override_settings`` just works. The keys come from the core's option table
(``ripples._options.OPTIONS``), so a new core option is a valid key at once;
environment variables stay the fallback for every value left out, exactly as
for a bare ``Ripples()``.

Policy, the same as the Flask extension's:

- an unknown key or an invalid value raises :class:`ripples.RipplesConfigError`
  when the app starts (``RipplesConfig.ready()``), like any other
  ``ImproperlyConfigured`` project: a typo must not ship;
- a missing secret key does not stop the project: the client is built
  disabled (every call is validated, nothing is sent) and one error is logged;
  ``manage.py check`` reports it as ``ripples_django.E001``. A deploy that
  forgot an analytics variable must not take the site down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from ripples import Ripples, RipplesConfigError
from ripples._options import OPTIONS, lacks_secret_key, resolve

SETTING_NAME = "RIPPLES"
MIDDLEWARE_PATH = "ripples_django.middleware.RipplesMiddleware"

logger = logging.getLogger("ripples.django")


def option_names() -> dict[str, str]:
    """Map each accepted ``RIPPLES`` key to its ``Ripples()`` keyword, e.g. ``TIMEOUT``."""
    return {option.django_key: option.name for option in OPTIONS}


def user_settings() -> Mapping[str, Any]:
    """The project's ``RIPPLES`` dict (empty when unset); anything but a mapping is an error."""
    value = getattr(settings, SETTING_NAME, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RipplesConfigError(
            f"settings.{SETTING_NAME} must be a dict, not {type(value).__name__}."
        )
    return value


def unknown_keys() -> list[str]:
    """Keys of ``RIPPLES`` that match no ``Ripples()`` keyword, e.g. a typo."""
    known = option_names()
    return sorted(str(key) for key in user_settings() if key not in known)


def client_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``Ripples()`` built from ``RIPPLES``.

    Raises RipplesConfigError for unknown keys or an ``ON_ERROR`` path that
    does not import. ``ON_ERROR`` may be a callable or its dotted path.
    """
    unknown = unknown_keys()
    if unknown:
        raise RipplesConfigError(
            f"Unknown key(s) in settings.{SETTING_NAME}: {', '.join(unknown)}. "
            f"Valid keys: {', '.join(sorted(option_names()))}."
        )
    names = option_names()
    kwargs = {names[key]: value for key, value in user_settings().items()}
    on_error = kwargs.get("on_error")
    if isinstance(on_error, str):
        try:
            kwargs["on_error"] = import_string(on_error)
        except ImportError as exc:
            raise RipplesConfigError(
                f"settings.{SETTING_NAME}['ON_ERROR'] = {on_error!r} does not import: {exc}"
            ) from None
    return kwargs


def validate() -> dict[str, Any]:
    """Check ``RIPPLES`` without building a client; the resolved values (key not included).

    Raises RipplesConfigError for anything but a missing key.
    """
    values = resolve(client_kwargs())
    values.pop("secret_key")
    return values


def make_client(**overrides: Any) -> Ripples:
    """A ``Ripples`` from ``RIPPLES`` plus ``overrides``, with the missing-key policy applied.

    Raises RipplesConfigError on a misconfiguration; without a key the client
    is disabled and the problem logged once per build.
    """
    kwargs = {**client_kwargs(), **overrides}
    if lacks_secret_key(kwargs):
        logger.error(
            "Ripples has no secret key, so events are validated but NOT sent: set "
            "RIPPLES = {'SECRET_KEY': ...} or RIPPLES_SECRET_KEY (or DISABLED: True); "
            "`python manage.py check` explains it"
        )
        kwargs["disabled"] = True
    return Ripples(**kwargs)
