"""Turning ``app.config`` and the extension's options into one core client's keyword arguments.

The option table is the signature of ``ripples.Ripples()`` itself, so every
core option is a ``RIPPLES_<OPTION>`` config key without a list to keep in
sync. Precedence, highest first: options passed to the extension,
``app.config``, then whatever the core reads from the environment
(``RIPPLES_SECRET_KEY``, ``RIPPLES_URL``, ``RIPPLES_DISABLED``) and its defaults.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
from collections.abc import Mapping
from typing import Any

import ripples

logger = logging.getLogger("ripples.flask")

PREFIX = "RIPPLES_"
#: The name the core reads from the environment, accepted in ``app.config`` too.
URL_ALIAS = "RIPPLES_URL"


def _option_names() -> tuple[str, ...]:
    parameters = inspect.signature(ripples.Ripples).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in parameters if p.kind in kinds)


#: Every keyword of ``ripples.Ripples()``: ``secret_key``, ``base_url``, ``timeout``, ...
OPTION_NAMES = _option_names()
CONFIG_KEYS = {PREFIX + name.upper(): name for name in OPTION_NAMES}


def check_option_names(options: Mapping[str, Any]) -> None:
    """Refuse a misspelt option when the extension is created, not at the first event."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(
            f"ripples_flask.Ripples() got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"the options are the keywords of ripples.Ripples(): {', '.join(OPTION_NAMES)}"
        )


def client_kwargs(config: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for an app's client: config first, the explicit options on top.

    A config value of None counts as unset, so ``RIPPLES_SECRET_KEY =
    os.environ.get(...)`` in a config module leaves the environment fallback alone.
    """
    kwargs = {
        name: config[key] for key, name in CONFIG_KEYS.items() if config.get(key) is not None
    }
    alias = config.get(URL_ALIAS)
    if alias is not None:
        if "base_url" not in kwargs:
            kwargs["base_url"] = alias
        elif kwargs["base_url"] != alias:
            logger.warning(
                "app.config sets both RIPPLES_BASE_URL and RIPPLES_URL; using RIPPLES_BASE_URL"
            )
    kwargs.update(options)
    _report_unknown_keys(config)
    return kwargs


def has_secret_key(kwargs: Mapping[str, Any]) -> bool:
    """Whether a key was given anywhere the core looks (never which one)."""
    return bool(kwargs.get("secret_key") or os.environ.get("RIPPLES_SECRET_KEY"))


def _report_unknown_keys(config: Mapping[str, Any]) -> None:
    """Say so when a ``RIPPLES_*`` key is not an option: a typo must not pass silently."""
    known = {*CONFIG_KEYS, URL_ALIAS}
    for key in config:
        if isinstance(key, str) and key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            logger.warning("app.config[%r] is not a Ripples option, ignored%s", key, hint)
