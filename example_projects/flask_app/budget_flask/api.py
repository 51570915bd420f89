"""The JSON API the demo (or a mobile app) drives, authenticated with a bearer token.

No CSRF token here: the credential is the ``Authorization`` header, which a browser
never sends on its own. The ``_rpl_vid`` visitor cookie is still read by the extension.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from flask import Blueprint, Response, g, jsonify, request

from . import actions, forms
from .db import get_db

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.errorhandler(forms.Invalid)
def _invalid(exc: forms.Invalid) -> tuple[Response, int]:
    return jsonify(error=exc.errors), 400


@bp.errorhandler(actions.ActionRefused)
def _refused(exc: actions.ActionRefused) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 409


@bp.errorhandler(LookupError)
def _missing(exc: LookupError) -> tuple[Response, int]:
    return jsonify(error="not found"), 404


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise forms.Invalid({"body": "Send a JSON object."})
    return body


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = None
        if scheme.lower() == "bearer" and token:
            user = get_db().execute("SELECT * FROM user WHERE api_token = ?", (token,)).fetchone()
        if user is None:
            return jsonify(error="missing or invalid bearer token"), 401
        g.user = user
        return view(**kwargs)

    return wrapped


@bp.post("/register")
def register() -> Any:
    user = actions.register(**forms.signup(_body()))
    return jsonify(user_id=user["public_id"], token=user["api_token"]), 201


@bp.post("/budgets")
@token_required
def create_budget() -> Any:
    data = forms.budget(_body())
    budget_id = actions.create_budget(g.user, **data)
    return jsonify(id=budget_id, name=data["name"]), 201


@bp.post("/budgets/<int:budget_id>/transactions")
@token_required
def add_transaction(budget_id: int) -> Any:
    count = actions.add_entry(g.user, budget_id, **forms.entry(_body()))
    return jsonify(count=count, activated=count == actions.ACTIVATION_ENTRIES), 201


@bp.post("/payments")
@token_required
def pay() -> Any:
    return jsonify(actions.pay(g.user, **forms.payment(_body()))), 201


@bp.post("/payments/<transaction_id>/refund")
@token_required
def refund(transaction_id: str) -> Any:
    return jsonify(actions.refund(g.user, transaction_id))


@bp.post("/plan")
@token_required
def change_plan() -> Any:
    return jsonify(actions.change_plan(g.user, **forms.plan(_body())))


@bp.patch("/profile")
@token_required
def edit_profile() -> Any:
    return jsonify(actions.update_profile(g.user, **forms.profile(_body())))
