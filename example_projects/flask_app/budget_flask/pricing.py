"""The price list: what each plan costs per billing interval, in any supported currency."""

from __future__ import annotations

from decimal import Decimal

PLANS = ("free", "pro", "team")
INTERVALS = ("month", "year")
CURRENCIES = ("EUR", "USD", "GBP")

_PRICES = {
    ("free", "month"): Decimal("0.00"),
    ("free", "year"): Decimal("0.00"),
    ("pro", "month"): Decimal("29.00"),
    ("pro", "year"): Decimal("290.00"),
    ("team", "month"): Decimal("99.00"),
    ("team", "year"): Decimal("990.00"),
}


def price(plan: str, interval: str = "month") -> Decimal:
    """The same figure in every currency keeps the example short."""
    return _PRICES[(plan, interval)]
