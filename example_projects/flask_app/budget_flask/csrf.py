"""A minimal CSRF guard for the HTML forms (a real project would use Flask-WTF).

Every form carries the session's token; a POST without it is refused. The JSON API is
exempt: it authenticates with a bearer token that a browser never sends on its own.
"""

from __future__ import annotations

import secrets

from flask import Flask, abort, request, session


def csrf_token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    token: str = session["csrf_token"]
    return token


def _check() -> None:
    if request.method != "POST" or request.blueprint == "api":
        return
    sent = request.form.get("csrf_token", "")
    if not secrets.compare_digest(sent, session.get("csrf_token", "")):
        abort(400, "The form expired; reload the page and try again.")


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
