"""The ``RIPPLES`` setting: ``ripples.Ripples()``'s keywords as upper-case keys of one dict.

Read live from ``django.conf.settings`` on every call (as django-cors-headers
does), so ``override_settings`` just works. The keyword list comes from the
signature of ``Ripples`` itself, so a new core option is a valid key at once.
Unknown keys are reported (system check ``ripples_django.E002``), never
silently ignored; environment variables stay the fallback for every value
left out, exactly as for a bare ``Ripples()``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ripples import Ripples

SETTING_NAME = "RIPPLES"
MIDDLEWARE_PATH = "ripples_django.middleware.RipplesMiddleware"


@cache
def option_names() -> dict[str, str]:
    """Map each accepted ``RIPPLES`` key to its ``Ripples()`` keyword, e.g. ``TIMEOUT``."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(Ripples).parameters.values()
    return {p.name.upper(): p.name for p in parameters if p.kind in kinds}


def user_settings() -> Mapping[str, Any]:
    """The project's ``RIPPLES`` dict (empty when unset); anything but a mapping is an error."""
    value = getattr(settings, SETTING_NAME, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"settings.{SETTING_NAME} must be a dict, not {type(value).__name__}."
        )
    return value


def unknown_keys() -> list[str]:
    """Keys of ``RIPPLES`` that match no ``Ripples()`` keyword, e.g. a typo."""
    known = option_names()
    return sorted(str(key) for key in user_settings() if key not in known)


def client_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``Ripples()`` built from ``RIPPLES``.

    Raises ImproperlyConfigured for unknown keys or an ``ON_ERROR`` path that
    does not import. ``ON_ERROR`` may be a callable or its dotted path.
    """
    unknown = unknown_keys()
    if unknown:
        raise ImproperlyConfigured(
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
            raise ImproperlyConfigured(
                f"settings.{SETTING_NAME}['ON_ERROR'] = {on_error!r} does not import: {exc}"
            ) from None
    return kwargs


def make_client(**overrides: Any) -> Ripples:
    """A ``Ripples`` from ``RIPPLES`` plus ``overrides``; raises on a misconfiguration."""
    return Ripples(**{**client_kwargs(), **overrides})
