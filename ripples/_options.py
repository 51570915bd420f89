"""The option table: every ``Ripples()`` option once, with its type, default, variable and check.

``Ripples.__init__``, the Django ``RIPPLES`` setting, Flask's ``app.config``
keys and the documentation table are all derived from :data:`OPTIONS`, so an
option is added, validated and documented in exactly one place.

Precedence for one option, highest first: a value given explicitly (``None``
counts as "not given" only for options whose default is ``None`` or that have
an environment variable), then the environment variable, then the default.
Every invalid value raises :class:`~ripples.RipplesConfigError` naming the option.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ._context import normalize_visitor_id
from ._errors import RipplesConfigError

logger = logging.getLogger("ripples")

DEFAULT_BASE_URL = "https://api.ripples.sh"
SECRET_KEY_ENV = "RIPPLES_SECRET_KEY"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
_warned_plain_http: set[str] = set()
_warn_lock = threading.Lock()

Check = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Option:
    """One option of ``Ripples()``.

    ``check(name, value)`` returns the value to use (converted, e.g. an int
    timeout to a float) or raises :class:`RipplesConfigError`.
    """

    name: str
    type: str
    default: Any
    env: str | None
    check: Check
    meaning: str

    @property
    def django_key(self) -> str:
        """The key in Django's ``RIPPLES`` dict, e.g. ``"MAX_RETRIES"``."""
        return self.name.upper()

    @property
    def flask_key(self) -> str:
        """The Flask ``app.config`` key, e.g. ``"RIPPLES_MAX_RETRIES"``."""
        return "RIPPLES_" + self.name.upper()


def _fail(name: str, expected: str, value: Any) -> RipplesConfigError:
    shown = "***" if name == "secret_key" else repr(value)
    return RipplesConfigError(f"Ripples(): {name} must be {expected}, got {shown}")


def _number(*, integer: bool = False, minimum: float = 0, inclusive: bool = False) -> Check:
    kinds = (int,) if integer else (int, float)
    expected = f"{'an int' if integer else 'a number'} {'>=' if inclusive else '>'} {minimum:g}"

    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, kinds) or value != value:
            raise _fail(name, expected, value)
        if value < minimum or (value == minimum and not inclusive):
            raise _fail(name, expected, value)
        return int(value) if integer else float(value)

    return check


def _secret_key(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(name, "a string", value)
    key = value.strip()
    if key and not (key.isascii() and key.isprintable() and len(key.split()) == 1):
        # It travels in an HTTP header: anything else would fail every post (and
        # requests would quote the header, key included, in its error message).
        raise _fail(name, "printable ASCII without spaces (an HTTP header value)", value)
    return key


def is_loopback_host(host: str) -> bool:
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(name: str, value: Any) -> str:
    if value is None or value == "":
        value = DEFAULT_BASE_URL
    if not isinstance(value, str):
        raise _fail(name, "a string", value)
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(name, "an http(s) URL", value)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        with _warn_lock:
            first = url not in _warned_plain_http
            _warned_plain_http.add(url)
        if first:
            logger.warning(
                "ripples: base_url %s uses plain http on a non-loopback host: "
                "the secret key travels unencrypted; use https",
                url,
            )
    return url


def _flag(name: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise _fail(name, "a bool (or one of 1/0, true/false, yes/no, on/off)", value)
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise _fail(name, "a bool", value)


def _callback(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise _fail(name, "a callable taking the exception, or None", value)
    return value


def _visitor(name: str, value: Any) -> str | None:
    if value is None:
        return None
    visitor = normalize_visitor_id(value)
    if visitor is None:
        raise _fail(name, "a visitor UUID (the _rpl_vid cookie) or None", value)
    return visitor


def _directory(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise _fail(name, "a path (str or os.PathLike) or None", value)
    path = os.fspath(value)
    if not isinstance(path, str) or not path.strip():
        raise _fail(name, "a non-empty path (str or os.PathLike) or None", value)
    if os.path.exists(path) and not os.path.isdir(path):
        raise _fail(name, "a directory, not a file", value)
    return os.path.abspath(os.path.expanduser(path))


#: Every option of ``Ripples()``, in signature order.
OPTIONS: tuple[Option, ...] = (
    Option(
        "secret_key", "str", None, SECRET_KEY_ENV, _secret_key,
        "Your `priv_...` key. Missing: `RipplesConfigError` naming `RIPPLES_SECRET_KEY` "
        "(unless disabled).",
    ),
    Option(
        "base_url", "str", DEFAULT_BASE_URL, "RIPPLES_URL", _base_url,
        "API endpoint; override for self-hosting or `ripples dev`. A trailing `/` is removed. "
        "Plain `http://` to a non-loopback host logs a warning once.",
    ),
    Option("timeout", "float", 3.0, None, _number(), "HTTP read timeout, seconds."),
    Option("connect_timeout", "float", 2.0, None, _number(), "HTTP connect timeout, seconds."),
    Option(
        "max_queue_size", "int", 1000, None, _number(integer=True),
        "Wake the sender as soon as this many events are waiting (a full batch goes at once).",
    ),
    Option(
        "on_error", "callable", None, None, _callback,
        "`callable(exc)` for delivery problems (`RipplesAPIError`, "
        "`RipplesBufferOverflowError`); called from the sender thread.",
    ),
    Option(
        "flush_interval", "float", 1.0, None, _number(),
        "Otherwise send whatever is waiting every this many seconds.",
    ),
    Option(
        "max_buffer_size", "int", 50_000, None, _number(integer=True),
        "Most events held in memory (for outages). When full, the oldest are dropped and "
        "the count is reported.",
    ),
    Option(
        "max_batch_size", "int", 1000, None, _number(integer=True),
        "Most events in one POST; a batch whose JSON body passes 512 KiB is split first.",
    ),
    Option(
        "max_retries", "int", 3, None, _number(integer=True, inclusive=True),
        "Retries of a batch after a timeout, connection error, 408, 429 or 5xx (exponential "
        "backoff with jitter, `Retry-After` honoured). Then the batch stays buffered and the "
        "sender backs off.",
    ),
    Option(
        "flush_timeout", "float", 10.0, None, _number(),
        "The most `flush()` / `aflush()` wait by default, seconds.",
    ),
    Option(
        "shutdown_timeout", "float", 5.0, None, _number(inclusive=True),
        "The most `close()` and the exit drain take, seconds, so a hanging API never hangs "
        "your process exit.",
    ),
    Option(
        "disabled", "bool", False, "RIPPLES_DISABLED", _flag,
        "Validate every call exactly as in production, send nothing; no key needed. "
        "For tests and local runs.",
    ),
    Option(
        "visitor_id", "str", None, None, _visitor,
        "A fixed visitor for every event of this client (0.1.x compatibility); a bound "
        "visitor wins.",
    ),
    Option(
        "spool_dir", "str | PathLike", None, "RIPPLES_SPOOL_DIR", _directory,
        "Directory where undelivered events are kept on disk (files 0600) across restarts "
        "and outages; `None`: memory only.",
    ),
    Option(
        "max_spool_bytes", "int", 256 * 1024 * 1024, None, _number(integer=True),
        "Most bytes the spool may hold on disk; past it the oldest events are dropped and counted.",
    ),
)

BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
_ENV_NAMES = tuple(option.env for option in OPTIONS if option.env is not None)
_MEMO_SIZE = 256
_resolved: dict[tuple[Any, ...], dict[str, Any]] = {}


def unknown_names(names: Any) -> list[str]:
    """The names in ``names`` that are not options, sorted (for typo reports)."""
    return sorted(str(name) for name in names if name not in BY_NAME)


def resolve(
    given: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Every option's value, checked: ``given`` first, then its environment variable, then
    its default.

    A ``None`` in ``given`` means "not given" for options with a ``None``
    default or an environment variable. Raises RipplesConfigError for an
    unknown name or an invalid value (the key is never part of the message).
    A missing secret key is not checked here: see :func:`require_secret_key`.

    Results are memoised per (given values and their types, environment values),
    so the documented client-per-request pattern does not re-validate each time.
    """
    env = os.environ if environ is None else environ
    env_values = tuple(env.get(name) for name in _ENV_NAMES)
    key = (tuple((name, type(value), value) for name, value in given.items()), env_values)
    memo = True
    try:
        cached = _resolved.get(key)
    except TypeError:  # an unhashable value (e.g. a callable object with __eq__): no memo
        memo, cached = False, None
    if cached is not None:
        return dict(cached)
    values = _resolve(given, dict(zip(_ENV_NAMES, env_values)))
    if memo:
        if len(_resolved) >= _MEMO_SIZE:
            _resolved.clear()
        _resolved[key] = values
    return dict(values)


def _resolve(given: Mapping[str, Any], env: Mapping[str, str | None]) -> dict[str, Any]:
    unknown = unknown_names(given)
    if unknown:
        raise RipplesConfigError(
            f"Ripples(): unknown option(s) {', '.join(unknown)}; "
            f"the options are {', '.join(BY_NAME)}"
        )
    values: dict[str, Any] = {}
    for option in OPTIONS:
        value = given.get(option.name)
        if value is None and option.env is not None:
            value = env.get(option.env) or None
        if value is None and option.name not in given:
            value = option.default
        values[option.name] = option.check(option.name, value)
    return values


def require_secret_key(values: Mapping[str, Any]) -> None:
    """Raise RipplesConfigError when resolved ``values`` have no key and are not disabled."""
    if not values["secret_key"] and not values["disabled"]:
        raise RipplesConfigError(
            f"Missing secret key: set {SECRET_KEY_ENV} in the environment or pass "
            "Ripples('priv_...'); set RIPPLES_DISABLED=1 to run without sending"
        )


def lacks_secret_key(given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """True when neither ``given`` nor the environment has a key and sending is not disabled.

    The integrations use it to apply their documented policy for a missing key
    (disable with one error log) before building the client.
    """
    values = resolve(given, environ)
    return not values["secret_key"] and not values["disabled"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default_text(option: Option) -> str:
    if option.name == "secret_key":
        return "—"
    if option.name == "max_spool_bytes":
        return "`268435456` (256 MiB)"
    return f"`{option.default!r}`" if not isinstance(option.default, str) else (
        f"`{option.default}`"
    )


def markdown_table() -> str:
    """The option table as Markdown, as the README and the docs show it."""
    lines = [
        "| option | type | default | environment | Django / Flask key | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        env = f"`{option.env}`" if option.env else ""
        keys = f"`{option.django_key}` / `{option.flask_key}`"
        lines.append(
            f"| `{option.name}` | `{_cell(option.type)}` | {_default_text(option)} | {env} "
            f"| {keys} | {_cell(option.meaning)} |"
        )
    return "\n".join(lines) + "\n"
