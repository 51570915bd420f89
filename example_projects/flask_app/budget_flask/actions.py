"""What a user does in the product: each action is saved and tracked in one place.

The HTML views and the JSON API both call these functions, so an event is tracked the
same way whichever door the user came through. There is no visitor id and no flush
here: the Ripples extension attaches the request's ``_rpl_vid`` visitor to every event
and sends them once the response is out.
"""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from decimal import Decimal

from werkzeug.security import generate_password_hash

from .db import get_db
from .extensions import ripples
from .forms import Invalid
from .pricing import price

#: The 10th transaction is the moment this product considers a user activated.
ACTIVATION_ENTRIES = 10

User = sqlite3.Row


class ActionRefused(Exception):
    """The action makes no sense in the current state (e.g. refunding twice)."""


def subscription_id(user: User) -> str:
    return f"sub_{uuid.UUID(user['public_id']).hex[:16]}"


def register(*, email: str, name: str, password: str) -> User:
    db = get_db()
    try:
        with db:
            db.execute(
                "INSERT INTO user (public_id, email, name, password_hash, api_token)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    str(uuid.uuid4()),
                    email,
                    name,
                    generate_password_hash(password),
                    secrets.token_urlsafe(32),
                ),
            )
    except sqlite3.IntegrityError:
        raise Invalid({"email": "An account with this email already exists."}) from None
    user = db.execute("SELECT * FROM user WHERE email = ?", (email,)).fetchone()
    ripples.signup(user["public_id"], email=email, name=name, plan=user["plan"])
    return user


def create_budget(user: User, *, name: str, limit: Decimal) -> int:
    db = get_db()
    with db:
        cursor = db.execute(
            "INSERT INTO budget (owner_id, name, spending_limit) VALUES (?, ?, ?)",
            (user["id"], name, str(limit)),
        )
    ripples.track("created a budget", user["public_id"], area="budgets")
    return int(cursor.lastrowid or 0)


def add_entry(user: User, budget_id: int, *, amount: Decimal, description: str = "") -> int:
    """Add a transaction to one of the user's budgets; return how many the user now has."""
    db = get_db()
    with db:
        owned = db.execute(
            "SELECT 1 FROM budget WHERE id = ? AND owner_id = ?", (budget_id, user["id"])
        ).fetchone()
        if owned is None:
            raise LookupError(budget_id)
        db.execute(
            "INSERT INTO entry (budget_id, amount, description) VALUES (?, ?, ?)",
            (budget_id, str(amount), description),
        )
        (count,) = db.execute(
            "SELECT count(*) FROM entry JOIN budget ON budget.id = entry.budget_id"
            " WHERE budget.owner_id = ?",
            (user["id"],),
        ).fetchone()
    ripples.track(
        "added transaction",
        user["public_id"],
        area="transactions",
        activated=True if count == ACTIVATION_ENTRIES else None,
    )
    return int(count)


def pay(user: User, *, plan: str, currency: str) -> dict[str, str]:
    transaction_id, amount = f"txn_{secrets.token_hex(8)}", price(plan)
    db = get_db()
    with db:
        db.execute(
            "INSERT INTO payment (user_id, transaction_id, plan, amount, currency)"
            " VALUES (?, ?, ?, ?, ?)",
            (user["id"], transaction_id, plan, str(amount), currency),
        )
    ripples.revenue(
        amount,
        user["public_id"],
        email=user["email"],
        currency=currency,
        transaction_id=transaction_id,
        name=f"{plan.title()} plan",
    )
    return {"transaction_id": transaction_id, "amount": str(amount), "currency": currency}


def refund(user: User, transaction_id: str) -> dict[str, str]:
    db = get_db()
    with db:
        payment = db.execute(
            "SELECT * FROM payment WHERE transaction_id = ? AND user_id = ?",
            (transaction_id, user["id"]),
        ).fetchone()
        if payment is None:
            raise LookupError(transaction_id)
        # Only the request that flips the flag tracks the refund.
        flipped = db.execute(
            "UPDATE payment SET refunded = 1 WHERE id = ? AND refunded = 0", (payment["id"],)
        ).rowcount
    if not flipped:
        raise ActionRefused("this payment was already refunded")
    amount = Decimal(payment["amount"])
    ripples.revenue(
        -amount, user["public_id"], currency=payment["currency"], transaction_id=transaction_id
    )
    return {
        "transaction_id": transaction_id,
        "amount": str(-amount),
        "currency": payment["currency"],
    }


def change_plan(user: User, *, plan: str, interval: str, currency: str = "EUR") -> dict[str, str]:
    db = get_db()
    with db:
        db.execute(
            "UPDATE user SET plan = ?, billing_interval = ? WHERE id = ?",
            (plan, interval, user["id"]),
        )
    ripples.subscription(
        subscription_id(user),
        user["public_id"],
        "canceled" if plan == "free" else "active",
        price(plan, interval),
        interval=interval,
        plan=plan,
        currency=currency,
    )
    return {"subscription_id": subscription_id(user), "plan": plan, "interval": interval}


def update_profile(user: User, *, name: str, company: str = "", role: str = "") -> dict[str, str]:
    db = get_db()
    with db:
        db.execute(
            "UPDATE user SET name = ?, company = ?, role = ? WHERE id = ?",
            (name, company, role, user["id"]),
        )
    ripples.identify(user["public_id"], email=user["email"], name=name, company=company, role=role)
    return {"name": name, "company": company, "role": role}
