"""One HTTP POST of a batch, and what its outcome means for retrying.

The sender calls a transport and reads the exception it raises: a
:class:`TransientError` means "nothing is known to be stored, try again
later", a :class:`RipplesAPIError` means "refused for good", and a
:class:`PermanentError` means "this can never be sent this way" (a bug in a
custom ``_post``), so the sender isolates the events concerned instead of
retrying them at the head of the queue.
"""

from __future__ import annotations

import math
import os
import socket
from typing import Any, Callable

import requests

from ._errors import RipplesAPIError, RipplesError
from ._version import __version__

BATCH_PATH = "/v1/ingest/batch"
#: The longest ``Retry-After`` honoured, in seconds; a longer one is read as this.
MAX_RETRY_AFTER = 120.0
USER_AGENT = f"ripples-python/{__version__}"
_RETRYABLE_STATUSES = frozenset({408, 429})

#: ``send(body, events, timeout)``: ``body`` is the encoded request, ``events`` the
#: same batch as wire dicts; raises TransientError, RipplesAPIError or PermanentError.
Transport = Callable[[bytes, "list[dict[str, Any]]", "tuple[float, float]"], None]
#: Exceptions from a custom ``_post`` that mean "the network failed": retried.
_NETWORK_ERRORS = (OSError, socket.timeout, requests.RequestException)


class TransientError(RipplesError):
    """A failure worth retrying: 408, 429, 5xx, a timeout or a connection error."""

    def __init__(
        self, message: str, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code)
        self.retry_after = retry_after


class PermanentError(RipplesError):
    """A failure that the same request would meet again: not worth retrying as is."""


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in _RETRYABLE_STATUSES


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare for this API; fall back to our own backoff
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return str(body["error"])[:500]
    return f"HTTP {response.status_code}"


class HttpTransport:
    """Posts batches with one keep-alive ``requests.Session`` (TLS verification on)."""

    def __init__(self, base_url: str, secret_key: str) -> None:
        self._url = base_url + BATCH_PATH
        self._key = secret_key
        self._session: requests.Session | None = None
        self._template: requests.PreparedRequest | None = None

    def __repr__(self) -> str:
        return f"<HttpTransport url={self._url!r}>"

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "priv_***") if self._key else text

    def session(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            # Read the proxy and CA settings from the environment once, not on
            # every post (requests re-reads them, and ~/.netrc, per request).
            session.proxies.update(requests.utils.get_environ_proxies(self._url))
            session.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
            session.trust_env = False
            session.headers.update(
                {
                    "Authorization": f"Bearer {self._key}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                }
            )
            self._session = session
            self._template = None
        return self._session

    def _request(self, body: bytes) -> requests.PreparedRequest:
        """The POST for ``body``: headers and URL prepared once, only the body swapped.

        ``Session.post`` would prepare the whole request (merging headers, hooks,
        cookies, auth) on every call; that is a third of a post's CPU.
        """
        session = self.session()
        template = self._template
        if template is None:
            template = session.prepare_request(requests.Request("POST", self._url, data=b"{}"))
            self._template = template
        request = template.copy()
        request.body = body
        request.headers["Content-Length"] = str(len(body))
        return request

    def close(self) -> None:
        session, self._session = self._session, None
        self._template = None
        if session is None:
            return
        # Close each pool first: Session.close() alone leaves a socket open until
        # garbage collection with some urllib3 versions.
        for adapter in session.adapters.values():
            pools: Any = getattr(getattr(adapter, "poolmanager", None), "pools", None)
            if pools is None:
                continue
            for key in list(pools.keys()):
                pool = pools.get(key)
                if pool is not None:
                    pool.close()
        session.close()

    def forget_session(self) -> None:
        """Drop the session without closing it: after fork its sockets belong to the parent."""
        self._session = None
        self._template = None

    def send(self, body: bytes, events: list[dict[str, Any]], timeout: tuple[float, float]) -> None:
        """POST ``body``; raises TransientError or RipplesAPIError (``events`` is unused)."""
        failure = None
        try:
            response = self.session().send(self._request(body), timeout=timeout)
        except Exception as exc:  # requests' errors, and anything a broken setup raises
            failure = self._redact(f"{type(exc).__name__}: {exc}")
        if failure is not None:
            # Raised outside the except block, so the error does not keep the requests
            # exception (and its connection pool) alive through __context__.
            raise TransientError(failure)
        status = response.status_code
        if status < 300:
            response.close()
            return
        message = self._redact(_server_message(response))
        response.close()
        if is_retryable_status(status):
            raise TransientError(message, status, _retry_after(response))
        raise RipplesAPIError(message, status)


def call_custom_post(post: Callable[[str, dict[str, Any]], None]) -> Transport:
    """Adapt a user's ``_post(path, data)`` override to the transport interface.

    A ``RipplesError`` with a non-retryable 4xx status counts as a refusal and
    one with another status (or none) as transient; a network error (``OSError``,
    ``requests.RequestException``) is transient, so the events are kept. Any
    other exception is a bug that the same events would meet again: it is a
    :class:`PermanentError`, so the sender isolates the events concerned and
    everything else keeps flowing.
    """

    def send(body: bytes, events: list[dict[str, Any]], timeout: tuple[float, float]) -> None:
        try:
            post(BATCH_PATH, {"events": events})
        except RipplesError as exc:
            status = exc.status_code
            if status is not None and 400 <= status < 500 and not is_retryable_status(status):
                raise RipplesAPIError(str(exc), status) from None
            raise TransientError(str(exc), status) from None
        except _NETWORK_ERRORS as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise PermanentError(f"the custom _post raised {type(exc).__name__}: {exc}") from None

    return send
