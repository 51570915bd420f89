"""Turning ``app.config`` and the extension's options into one core client's keyword arguments.

The keys come from the core's option table (``ripples._options.OPTIONS``):
every option is a ``RIPPLES_<OPTION>`` config key without a list to keep in
sync. Precedence, highest first: options passed to the extension,
``app.config``, then the environment variables the core reads and its defaults.

Policy, the same as Django's (see ``ripples_django.conf``): an unknown
``RIPPLES_*`` key or option, or an invalid value, raises
:class:`ripples.RipplesConfigError` in ``init_app``; a missing secret key
disables sending with one error log (``flask ripples check`` then fails).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

from ripples import RipplesConfigError
from ripples._options import OPTIONS, lacks_secret_key

logger = logging.getLogger("ripples.flask")

PREFIX = "RIPPLES_"
#: The name the core reads from the environment, accepted in ``app.config`` too.
URL_ALIAS = "RIPPLES_URL"

#: Every keyword of ``ripples.Ripples()``: ``secret_key``, ``base_url``, ``timeout``, ...
OPTION_NAMES = tuple(option.name for option in OPTIONS)
CONFIG_KEYS = {option.flask_key: option.name for option in OPTIONS}


def check_option_names(options: Mapping[str, Any]) -> None:
    """Refuse a misspelt option when the extension is created, not at the first event."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise RipplesConfigError(
            f"ripples_flask.Ripples() got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"the options are the keywords of ripples.Ripples(): {', '.join(OPTION_NAMES)}"
        )


def client_kwargs(config: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for an app's client: config first, the explicit options on top.

    A config value of None counts as unset, so ``RIPPLES_SECRET_KEY =
    os.environ.get(...)`` in a config module leaves the environment fallback alone.
    Raises RipplesConfigError for a ``RIPPLES_*`` key that is no option.
    """
    _check_config_keys(config)
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
    return kwargs


def apply_missing_key_policy(kwargs: dict[str, Any], app_name: str) -> bool:
    """Disable sending (and log once) when no key is configured anywhere; True if so.

    Raises RipplesConfigError for an invalid value of any option.
    """
    if not lacks_secret_key(kwargs):
        return False
    # Starting the app must not depend on analytics. Validate every call as
    # usual but send nothing, and say so loudly once.
    logger.error(
        "ripples: no secret key for Flask app %r: set RIPPLES_SECRET_KEY in app.config or "
        "the environment (or RIPPLES_DISABLED=True). Events are validated but NOT sent.",
        app_name,
    )
    kwargs["disabled"] = True
    return True


def _check_config_keys(config: Mapping[str, Any]) -> None:
    """A ``RIPPLES_*`` key that is not an option is a typo: refuse it with a suggestion."""
    known = {*CONFIG_KEYS, URL_ALIAS}
    for key in config:
        if isinstance(key, str) and key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise RipplesConfigError(f"app.config[{key!r}] is not a Ripples option{hint}")
