"""What a user does in the product: each action is saved and tracked in one place.

The HTML views and the JSON API both call these functions, so an event is tracked the
same way whichever door the user came through. There is no visitor id and no flush
here: ``RipplesMiddleware`` attaches the request's ``_rpl_vid`` visitor to every event
and sends them once the response is out.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction as db_transaction

from ripples_django import ripples

from .models import Budget, Payment, Transaction, User
from .pricing import price

#: The 10th transaction is the moment this product considers a user activated.
ACTIVATION_TRANSACTIONS = 10


class ActionRefused(Exception):
    """The action makes no sense in the current state (e.g. refunding twice)."""


def register(*, email: str, name: str, password: str) -> User:
    user = User.objects.create_user(username=email, email=email, password=password, name=name)
    ripples.signup(user.tracking_id, email=user.email, name=user.name, plan=user.plan)
    return user


def create_budget(user: User, *, name: str, limit: Decimal) -> Budget:
    budget = Budget.objects.create(owner=user, name=name, limit=limit)
    ripples.track("created a budget", user.tracking_id, area="budgets")
    return budget


def add_transaction(
    user: User, budget: Budget, *, amount: Decimal, description: str = ""
) -> tuple[Transaction, int]:
    """Return the transaction and how many the user now has (the 10th activates)."""
    with db_transaction.atomic():
        entry = Transaction.objects.create(budget=budget, amount=amount, description=description)
        count = Transaction.objects.filter(budget__owner=user).count()
    ripples.track(
        "added transaction",
        user.tracking_id,
        area="transactions",
        activated=True if count == ACTIVATION_TRANSACTIONS else None,
    )
    return entry, count


def pay(user: User, *, plan: str, currency: str) -> Payment:
    payment = Payment.objects.create(user=user, plan=plan, amount=price(plan), currency=currency)
    ripples.revenue(
        payment.amount,
        user.tracking_id,
        email=user.email,
        currency=payment.currency,
        transaction_id=payment.transaction_id,
        name=f"{plan.title()} plan",
    )
    return payment


#: Currencies Stripe sends in whole units (no cents).
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "JPY", "KRW", "PYG", "VND", "XAF", "XOF"})


def record_webhook_payment(user: User, *, event_id: str, cents: int, currency: str) -> None:
    """A payment reported by the payment provider's webhook, counted once per ``event_id``.

    Webhooks are delivered at least once: the idempotency key gives every
    delivery of one event the same ``$event_id``, so Ripples stores one payment.
    """
    code = currency.upper()
    amount = Decimal(cents) if code in ZERO_DECIMAL_CURRENCIES else Decimal(cents) / 100
    ripples.revenue(
        amount,
        user.tracking_id,
        currency=code,
        transaction_id=event_id,
        idempotency_key=f"stripe:{event_id}",
    )


def refund(user: User, payment: Payment) -> Payment:
    # Mark it refunded only if nobody else just did: a refund is tracked once.
    if not Payment.objects.filter(pk=payment.pk, refunded=False).update(refunded=True):
        raise ActionRefused("this payment was already refunded")
    ripples.revenue(
        -payment.amount,
        user.tracking_id,
        currency=payment.currency,
        transaction_id=payment.transaction_id,
    )
    payment.refunded = True
    return payment


def change_plan(user: User, *, plan: str, interval: str, currency: str = "EUR") -> User:
    user.plan, user.billing_interval = plan, interval
    user.save(update_fields=["plan", "billing_interval"])
    ripples.subscription(
        user.subscription_id,
        user.tracking_id,
        "canceled" if plan == "free" else "active",
        price(plan, interval),
        interval=interval,
        plan=plan,
        currency=currency,
    )
    return user


def update_profile(user: User, *, name: str, company: str = "", role: str = "") -> User:
    user.name, user.company, user.role = name, company, role
    user.save(update_fields=["name", "company", "role"])
    ripples.identify(user.tracking_id, email=user.email, name=name, company=company, role=role)
    return user
