"""The JSON API the demo (or a mobile app) drives, authenticated with a bearer token.

These views are exempt from CSRF because they never read the session cookie: the
token in the ``Authorization`` header is the credential, and a browser never sends it
on its own. The ``_rpl_vid`` visitor cookie is still read by the Ripples middleware.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Optional

from django import forms
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import actions
from .forms import BudgetForm, PaymentForm, PlanForm, ProfileForm, SignupForm, TransactionForm
from .models import Budget, Payment, User

Handler = Callable[..., JsonResponse]


class _Invalid(Exception):
    def __init__(self, errors: Any, status: int = 400) -> None:
        super().__init__(errors)
        self.errors, self.status = errors, status


def _token_user(request: HttpRequest) -> Optional[User]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return User.objects.filter(api_token=token, is_active=True).first()


def endpoint(method: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    """JSON in, JSON out: parse the body, authenticate, and turn errors into 4xx."""

    def decorate(view: Handler) -> Handler:
        @csrf_exempt
        @require_http_methods([method])
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                return JsonResponse({"error": "the body is not valid JSON"}, status=400)
            if not isinstance(body, dict):
                return JsonResponse({"error": "the body must be a JSON object"}, status=400)
            if auth:
                user = _token_user(request)
                if user is None:
                    return JsonResponse({"error": "missing or invalid bearer token"}, status=401)
                args = (user, *args)
            try:
                return view(request, body, *args, **kwargs)
            except _Invalid as exc:
                return JsonResponse({"error": exc.errors}, status=exc.status)
            except actions.ActionRefused as exc:
                return JsonResponse({"error": str(exc)}, status=409)

        return wrapper

    return decorate


def _valid(form_class: type[forms.Form], body: dict[str, Any]) -> dict[str, Any]:
    form = form_class(body)
    if not form.is_valid():
        raise _Invalid(form.errors.get_json_data())
    return form.cleaned_data


@endpoint("POST", auth=False)
def register(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    user = actions.register(**_valid(SignupForm, body))
    return JsonResponse({"user_id": user.tracking_id, "token": user.api_token}, status=201)


@endpoint("POST")
def create_budget(request: HttpRequest, body: dict[str, Any], user: User) -> JsonResponse:
    budget = actions.create_budget(user, **_valid(BudgetForm, body))
    return JsonResponse({"id": budget.pk, "name": budget.name}, status=201)


@endpoint("POST")
def add_transaction(
    request: HttpRequest, body: dict[str, Any], user: User, budget_id: int
) -> JsonResponse:
    budget = get_object_or_404(Budget, pk=budget_id, owner=user)
    entry, count = actions.add_transaction(user, budget, **_valid(TransactionForm, body))
    activated = count == actions.ACTIVATION_TRANSACTIONS
    return JsonResponse({"id": entry.pk, "count": count, "activated": activated}, status=201)


@endpoint("POST")
def pay(request: HttpRequest, body: dict[str, Any], user: User) -> JsonResponse:
    payment = actions.pay(user, **_valid(PaymentForm, body))
    return JsonResponse(_payment_json(payment), status=201)


@endpoint("POST")
def refund(request: HttpRequest, body: dict[str, Any], user: User, txn: str) -> JsonResponse:
    payment = actions.refund(user, get_object_or_404(Payment, transaction_id=txn, user=user))
    return JsonResponse(_payment_json(payment))


@endpoint("POST")
def change_plan(request: HttpRequest, body: dict[str, Any], user: User) -> JsonResponse:
    user = actions.change_plan(user, **_valid(PlanForm, body))
    return JsonResponse(
        {
            "subscription_id": user.subscription_id,
            "plan": user.plan,
            "interval": user.billing_interval,
        }
    )


@endpoint("PATCH")
def edit_profile(request: HttpRequest, body: dict[str, Any], user: User) -> JsonResponse:
    user = actions.update_profile(user, **_valid(ProfileForm, body))
    return JsonResponse({"name": user.name, "company": user.company, "role": user.role})


def _payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "transaction_id": payment.transaction_id,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "refunded": payment.refunded,
    }
