"""The HTML side: a page that sets the visitor cookie, signup, and a dashboard of forms."""

from __future__ import annotations

from typing import Any, Callable

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import actions
from .forms import BudgetForm, PaymentForm, PlanForm, ProfileForm, SignupForm, TransactionForm
from .models import Budget, Payment


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "budgets/home.html")


def register(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = actions.register(**form.cleaned_data)
        login(request, user)
        messages.success(request, "Welcome! Your signup was tracked with your visitor id.")
        return redirect("dashboard")
    return render(request, "budgets/register.html", {"form": form})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "budgets": Budget.objects.filter(owner=user).annotate(entries=Count("transactions")),
        "payments": Payment.objects.filter(user=user).order_by("-created"),
        "budget_form": BudgetForm(),
        "transaction_form": TransactionForm(),
        "payment_form": PaymentForm(),
        "plan_form": PlanForm(initial={"plan": user.plan, "interval": user.billing_interval}),
        "profile_form": ProfileForm(
            initial={"name": user.name, "company": user.company, "role": user.role}
        ),
    }
    return render(request, "budgets/dashboard.html", context)


def _submit(
    request: HttpRequest, form_class: type[forms.Form], action: Callable[[dict[str, Any]], str]
) -> HttpResponse:
    """Validate a dashboard form, run its action, and come back with a message."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            messages.success(request, action(form.cleaned_data))
        except actions.ActionRefused as exc:
            messages.error(request, str(exc))
    return redirect("dashboard")


@login_required
@require_POST
def create_budget(request: HttpRequest) -> HttpResponse:
    def run(data: dict[str, Any]) -> str:
        return f"Budget {actions.create_budget(request.user, **data).name!r} created."

    return _submit(request, BudgetForm, run)


@login_required
@require_POST
def add_transaction(request: HttpRequest, budget_id: int) -> HttpResponse:
    budget = get_object_or_404(Budget, pk=budget_id, owner=request.user)

    def run(data: dict[str, Any]) -> str:
        _, count = actions.add_transaction(request.user, budget, **data)
        if count == actions.ACTIVATION_TRANSACTIONS:
            return "Transaction added: that was your 10th, you are activated!"
        return f"Transaction added ({count} so far)."

    return _submit(request, TransactionForm, run)


@login_required
@require_POST
def pay(request: HttpRequest) -> HttpResponse:
    def run(data: dict[str, Any]) -> str:
        payment = actions.pay(request.user, **data)
        return f"Paid {payment.amount} {payment.currency} ({payment.transaction_id})."

    return _submit(request, PaymentForm, run)


@login_required
@require_POST
def refund(request: HttpRequest, transaction_id: str) -> HttpResponse:
    payment = get_object_or_404(Payment, transaction_id=transaction_id, user=request.user)
    try:
        actions.refund(request.user, payment)
        messages.success(request, f"Refunded {payment.amount} {payment.currency}.")
    except actions.ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect("dashboard")


@login_required
@require_POST
def change_plan(request: HttpRequest) -> HttpResponse:
    def run(data: dict[str, Any]) -> str:
        user = actions.change_plan(request.user, **data)
        return f"You are now on the {user.plan} plan, billed every {user.billing_interval}."

    return _submit(request, PlanForm, run)


@login_required
@require_POST
def edit_profile(request: HttpRequest) -> HttpResponse:
    def run(data: dict[str, Any]) -> str:
        actions.update_profile(request.user, **data)
        return "Profile saved."

    return _submit(request, ProfileForm, run)
