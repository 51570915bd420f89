"""The HTML side: a page that sets the visitor cookie and a dashboard of forms."""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from . import actions, forms
from .auth import login_required
from .db import get_db

bp = Blueprint("budgets", __name__)


@bp.route("/")
def home() -> Any:
    return render_template("home.html")


@bp.route("/dashboard")
@login_required
def dashboard() -> Any:
    db = get_db()
    budgets = db.execute(
        "SELECT budget.*, count(entry.id) AS entries FROM budget"
        " LEFT JOIN entry ON entry.budget_id = budget.id"
        " WHERE owner_id = ? GROUP BY budget.id ORDER BY budget.id",
        (g.user["id"],),
    ).fetchall()
    payments = db.execute(
        "SELECT * FROM payment WHERE user_id = ? ORDER BY id DESC", (g.user["id"],)
    ).fetchall()
    return render_template("dashboard.html", budgets=budgets, payments=payments)


def _submit(action: Callable[[], str]) -> Any:
    """Run a dashboard form's action and come back with a message."""
    try:
        flash(action(), "success")
    except (forms.Invalid, actions.ActionRefused) as exc:
        flash(str(exc), "error")
    except LookupError:
        abort(404)
    return redirect(url_for("budgets.dashboard"))


@bp.route("/budgets", methods=("POST",))
@login_required
def create_budget() -> Any:
    def run() -> str:
        actions.create_budget(g.user, **forms.budget(request.form))
        return "Budget created."

    return _submit(run)


@bp.route("/budgets/<int:budget_id>/transactions", methods=("POST",))
@login_required
def add_transaction(budget_id: int) -> Any:
    def run() -> str:
        count = actions.add_entry(g.user, budget_id, **forms.entry(request.form))
        if count == actions.ACTIVATION_ENTRIES:
            return "Transaction added: that was your 10th, you are activated!"
        return f"Transaction added ({count} so far)."

    return _submit(run)


@bp.route("/payments", methods=("POST",))
@login_required
def pay() -> Any:
    def run() -> str:
        payment = actions.pay(g.user, **forms.payment(request.form))
        return f"Paid {payment['amount']} {payment['currency']} ({payment['transaction_id']})."

    return _submit(run)


@bp.route("/payments/<transaction_id>/refund", methods=("POST",))
@login_required
def refund(transaction_id: str) -> Any:
    def run() -> str:
        refunded = actions.refund(g.user, transaction_id)
        return f"Refunded {refunded['amount'].lstrip('-')} {refunded['currency']}."

    return _submit(run)


@bp.route("/plan", methods=("POST",))
@login_required
def change_plan() -> Any:
    def run() -> str:
        plan = actions.change_plan(g.user, **forms.plan(request.form))
        return f"You are now on the {plan['plan']} plan, billed every {plan['interval']}."

    return _submit(run)


@bp.route("/profile", methods=("POST",))
@login_required
def edit_profile() -> Any:
    def run() -> str:
        actions.update_profile(g.user, **forms.profile(request.form))
        return "Profile saved."

    return _submit(run)
