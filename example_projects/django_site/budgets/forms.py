"""Input validation, shared by the HTML forms and the JSON API (forms validate any dict)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import password_validation

from .models import User
from .pricing import CURRENCIES, INTERVALS, PLANS


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class SignupForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].lower()
        if User.objects.filter(username=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class BudgetForm(forms.Form):
    name = forms.CharField(max_length=100)
    limit = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))


class TransactionForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2)
    description = forms.CharField(max_length=200, required=False)


class PaymentForm(forms.Form):
    plan = forms.ChoiceField(choices=_choices(PLANS[1:]))
    currency = forms.ChoiceField(choices=_choices(CURRENCIES))


class PlanForm(forms.Form):
    plan = forms.ChoiceField(choices=_choices(PLANS))
    interval = forms.ChoiceField(choices=_choices(INTERVALS))
    currency = forms.ChoiceField(choices=_choices(CURRENCIES), initial="EUR", required=False)

    def clean_currency(self) -> str:
        return self.cleaned_data.get("currency") or "EUR"


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=150)
    company = forms.CharField(max_length=150, required=False)
    role = forms.CharField(max_length=150, required=False)
