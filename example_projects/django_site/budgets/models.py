"""The product's data: a user owns budgets, budgets hold transactions, users make payments."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


def new_api_token() -> str:
    return secrets.token_urlsafe(32)


def new_transaction_id() -> str:
    return f"txn_{secrets.token_hex(8)}"


class User(AbstractUser):
    """A custom user, as Django recommends for new projects.

    ``public_id`` is the id analytics see: stable, unguessable, and never the row number.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=150, blank=True)
    company = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=150, blank=True)
    plan = models.CharField(max_length=20, default="free")
    billing_interval = models.CharField(max_length=10, default="month")
    api_token = models.CharField(max_length=64, unique=True, default=new_api_token, editable=False)

    @property
    def tracking_id(self) -> str:
        return str(self.public_id)

    @property
    def subscription_id(self) -> str:
        return f"sub_{self.public_id.hex[:16]}"


class Budget(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    limit = models.DecimalField(max_digits=12, decimal_places=2)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Transaction(models.Model):
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="transactions")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)


class Payment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    transaction_id = models.CharField(max_length=40, unique=True, default=new_transaction_id)
    plan = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    refunded = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
