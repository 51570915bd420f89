"""``flask ripples check``: prove the app's key and URL work before the first real event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup

import ripples

if TYPE_CHECKING:
    from ._extension import Ripples as _Extension

ripples_cli = AppGroup("ripples", help="Ripples analytics commands.")

_HINTS = {
    401: "the API refused the secret key: check RIPPLES_SECRET_KEY",
    403: "the API refused the secret key: check RIPPLES_SECRET_KEY",
    404: "no Ripples API at this URL: check RIPPLES_BASE_URL",
    405: "no Ripples API at this URL: check RIPPLES_BASE_URL",
}


@ripples_cli.command("check")
@click.option(
    "--user-id",
    default="ripples-check",
    show_default=True,
    help="User id of the test event (an identify call without traits).",
)
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds to wait for the API (default: the client's flush_timeout).",
)
def check_command(user_id: str, timeout: float | None) -> None:
    """Send one test event with this app's configuration; exit 1 unless it was accepted."""
    extension: _Extension | None = current_app.extensions.get("ripples")
    if extension is None:
        raise click.ClickException("ripples_flask.Ripples is not set up on this app")
    ok, message = run_check(extension, user_id, timeout)
    if not ok:
        raise click.ClickException(message)
    click.echo(message)


def run_check(extension: _Extension, user_id: str, timeout: float | None) -> tuple[bool, str]:
    """Send one identify event through a client built like the app's; (worked?, report)."""
    state = extension.setup
    url = state.client.options["base_url"]
    if state.missing_key:
        return False, (
            "Ripples check failed: no secret key; set RIPPLES_SECRET_KEY in app.config "
            "or the environment"
        )
    if state.client.options["disabled"]:
        return False, (
            "Ripples check failed: Ripples is disabled (RIPPLES_DISABLED) for this app, "
            "so nothing is sent"
        )
    errors: list[Exception] = []
    user_on_error = state.kwargs.get("on_error")

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        if user_on_error is not None:
            user_on_error(exc)

    # Same key, URL and timeouts as the app's client, but its own sender, so the
    # report is about this one event and a failure does not delay the exit.
    kwargs: dict[str, Any] = {**state.kwargs, "on_error": on_error, "shutdown_timeout": 0.1}
    client = ripples.Ripples(**kwargs)
    client.identify(user_id)
    delivered = client.flush(timeout)
    ledger = f"\nDelivery ledger: {client.stats().describe()}"
    if errors:
        status = getattr(errors[0], "status_code", None)
        hint = _HINTS.get(status or 0) or (
            f"the API answered HTTP {status}" if status else "could not reach the API"
        )
        return False, f"Ripples check failed for {url}: {hint}.\n{errors[0]}{ledger}"
    if not delivered:
        return False, (
            f"Ripples check failed for {url}: no answer in time; check RIPPLES_BASE_URL "
            "and the network." + ledger
        )
    return True, (
        f"Ripples check OK: {url} accepted a test event (identify {user_id!r}); "
        "the secret key and URL work." + ledger
    )
