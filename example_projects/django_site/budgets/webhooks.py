"""A Stripe-style payment webhook: delivered at least once, counted once.

Stripe (like every webhook sender) retries a delivery until it gets a 2xx, and
may deliver one event twice. The revenue is tracked with
``idempotency_key=f"stripe:{event['id']}"``, so every delivery of one event
sends the same ``$event_id`` and Ripples stores the payment once.

Payload (Stripe's shape, trimmed)::

    {"id": "evt_1", "type": "payment_intent.succeeded",
     "data": {"object": {"amount": 2900, "currency": "eur", "customer": "<user id>"}}}

``amount`` is in the currency's smallest unit (cents), as Stripe sends it.
``customer`` is the user's public id here (a real app maps its Stripe customer
id to its user). When ``STRIPE_WEBHOOK_SECRET`` is set, the ``Stripe-Signature``
header is verified as Stripe documents it (HMAC-SHA256 of ``"{t}.{body}"``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import actions
from .models import User

#: The events that mean "money arrived"; anything else is acknowledged and ignored.
PAYMENT_EVENTS = frozenset({"payment_intent.succeeded", "charge.succeeded", "invoice.paid"})
#: How old a signed delivery may be, in seconds (Stripe's default tolerance).
SIGNATURE_TOLERANCE = 300


def _signature_ok(request: HttpRequest, secret: str) -> bool:
    parts = dict(
        item.split("=", 1)
        for item in request.headers.get("Stripe-Signature", "").split(",")
        if "=" in item
    )
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE:
        return False
    signed = f"{timestamp}.".encode() + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _payment(event: Any) -> tuple[str, int, str, str]:
    """``(event id, amount in cents, currency, customer)``; ValueError when malformed."""
    try:
        event_id, payment = event["id"], event["data"]["object"]
        amount, currency, customer = payment["amount"], payment["currency"], payment["customer"]
    except (KeyError, TypeError):
        raise ValueError(
            "expected {id, type, data: {object: {amount, currency, customer}}}"
        ) from None
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        raise ValueError("id must be a non-empty string")
    if type(amount) is not int or not isinstance(currency, str) or not isinstance(customer, str):
        raise ValueError("amount must be an int (cents); currency and customer strings")
    return event_id, amount, currency, customer


@csrf_exempt  # called by Stripe's servers, authenticated by the signature
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET")
    if secret and not _signature_ok(request, secret):
        return JsonResponse({"error": "bad signature"}, status=400)
    try:
        event = json.loads(request.body)
        if event.get("type") not in PAYMENT_EVENTS:
            return JsonResponse({"received": True, "ignored": str(event.get("type"))})
        event_id, cents, currency, customer = _payment(event)
        user = User.objects.filter(public_id=uuid.UUID(customer)).first()
    except (ValueError, AttributeError) as exc:
        return JsonResponse({"error": f"malformed event: {exc}"}, status=400)
    if user is None:  # not ours: acknowledge, or the sender retries for days
        return JsonResponse({"received": True, "ignored": "unknown customer"})
    # Inline here; with Celery, hand `event` to a task that calls the same action
    # (docs/jobs.md): the idempotency key makes the task's retries safe too.
    actions.record_webhook_payment(user, event_id=event_id, cents=cents, currency=currency)
    return JsonResponse({"received": True})
