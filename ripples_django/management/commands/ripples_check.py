"""``manage.py ripples_check``: send one test event and say plainly whether key and URL work.

The system checks can only see the configuration; this command proves it
end to end (DNS, TLS, firewall, key) before a deploy, and exits non-zero on
failure so it can gate one. It sends a ``track`` event ``ripples_check`` for
the user ``ripples_check`` (``--user-id`` to change it).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ripples import Ripples, RipplesError
from ripples_django import conf


class Command(BaseCommand):
    help = "Send one test event to Ripples and report whether the secret key and URL work."
    # It checks the Ripples configuration itself, and --key must work without a configured one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", help="Secret key to test instead of the configured one.")
        parser.add_argument("--url", help="Base URL to test instead of the configured one.")
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="Seconds to wait for the API (default 5)."
        )
        parser.add_argument("--user-id", default="ripples_check", help="User id of the test event.")

    def handle(self, *args: Any, **options: Any) -> None:
        errors: list[Exception] = []
        overrides: dict[str, Any] = {
            "disabled": False,  # test the connection even where the app sends nothing
            "max_retries": 0,  # report the first failure instead of retrying it
            "timeout": options["timeout"],
            "shutdown_timeout": 0,  # a failed event is not retried at exit
            "on_error": errors.append,
        }
        if options["key"]:
            overrides["secret_key"] = options["key"]
        if options["url"]:
            overrides["base_url"] = options["url"]
        try:  # built directly, without the project's missing-key policy: a missing key fails
            client = Ripples(**{**conf.client_kwargs(), **overrides})
        except Exception as exc:
            raise CommandError(f"Ripples is not configured: {exc}") from None
        url = client.options["base_url"]
        key_source = _key_source(options["key"])
        self.stdout.write(f"Sending a test event to {url} with the key from {key_source} ...")
        client.track("ripples_check", options["user_id"], area="ripples")
        delivered = client.flush(timeout=options["timeout"] + client.options["connect_timeout"])
        self.stdout.write(f"Delivery ledger: {client.stats().describe()}")
        if errors:
            raise CommandError(_explain(errors[0], url, key_source))
        if not delivered:
            raise CommandError(f"No answer from {url} within {options['timeout']:g}s.")
        self.stdout.write(
            self.style.SUCCESS(f"OK: {url} accepted the test event; the key and URL work.")
        )


def _key_source(key_option: str | None) -> str:
    if key_option:
        return "--key"
    try:
        if conf.user_settings().get("SECRET_KEY"):
            return f"settings.{conf.SETTING_NAME}['SECRET_KEY']"
    except Exception:
        pass
    return "the RIPPLES_SECRET_KEY environment variable"


def _explain(exc: Exception, url: str, key_source: str) -> str:
    """One sentence saying what failed and where to look; never the key itself."""
    status = exc.status_code if isinstance(exc, RipplesError) else None
    if status in (401, 403):
        return f"{url} refused the secret key (HTTP {status}): check {key_source}. ({exc})"
    if status in (404, 405):
        return f"{url} is not a Ripples API (HTTP {status}): check BASE_URL / RIPPLES_URL."
    if status is None:
        return f"Could not reach {url}: check BASE_URL / RIPPLES_URL and the network. ({exc})"
    if 400 <= status < 500 and status not in (408, 429):
        return f"{url} refused the test event (HTTP {status}). ({exc})"
    return f"{url} failed to accept the test event (HTTP {status}); try again later. ({exc})"
