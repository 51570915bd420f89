"""Test settings: a dummy key (nothing is sent while `ripples_events` records), fast hashing."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("RIPPLES_SECRET_KEY", "priv_test_not_a_real_key")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
