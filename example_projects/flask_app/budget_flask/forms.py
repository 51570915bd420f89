"""Input validation shared by the HTML forms and the JSON API: a dict in, clean values out."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .pricing import CURRENCIES, INTERVALS, PLANS


class Invalid(ValueError):
    """One or more fields are wrong; ``errors`` maps each field to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class _Fields:
    """Collects clean values and the errors of one submitted form."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data, self.clean, self.errors = data, {}, {}

    def text(self, name: str, *, required: bool = True, max_length: int = 150) -> None:
        value = str(self.data.get(name) or "").strip()
        if required and not value:
            self.errors[name] = "This field is required."
        elif len(value) > max_length:
            self.errors[name] = f"At most {max_length} characters."
        self.clean[name] = value

    def choice(self, name: str, choices: tuple[str, ...], default: str = "") -> None:
        value = str(self.data.get(name) or default)
        if value not in choices:
            self.errors[name] = f"Choose one of {', '.join(choices)}."
        self.clean[name] = value

    def money(self, name: str, *, minimum: Decimal | None = None) -> None:
        try:
            value = Decimal(str(self.data.get(name, ""))).quantize(Decimal("0.01"))
        except InvalidOperation:
            self.errors[name] = "Enter a number."
            return
        if not value.is_finite() or (minimum is not None and value < minimum):
            self.errors[name] = "Enter a valid amount."
        self.clean[name] = value

    def result(self) -> dict[str, Any]:
        if self.errors:
            raise Invalid(self.errors)
        return self.clean


def signup(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.text("email")
    fields.text("name")
    fields.text("password", max_length=200)
    if "@" not in fields.clean["email"]:
        fields.errors["email"] = "Enter a valid email address."
    if len(fields.clean["password"]) < 8:
        fields.errors["password"] = "At least 8 characters."
    fields.clean["email"] = fields.clean["email"].lower()
    return fields.result()


def budget(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.text("name", max_length=100)
    fields.money("limit", minimum=Decimal("0"))
    return fields.result()


def entry(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.money("amount")
    fields.text("description", required=False, max_length=200)
    return fields.result()


def payment(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.choice("plan", PLANS[1:])
    fields.choice("currency", CURRENCIES)
    return fields.result()


def plan(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.choice("plan", PLANS)
    fields.choice("interval", INTERVALS)
    fields.choice("currency", CURRENCIES, default="EUR")
    return fields.result()


def profile(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _Fields(data)
    fields.text("name")
    fields.text("company", required=False)
    fields.text("role", required=False)
    return fields.result()
