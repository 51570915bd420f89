"""An app on a throwaway database, for each test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from budget_flask import create_app
from flask import Flask

# Nothing is sent while the `ripples_events` fixture records; the key only has to exist.
os.environ.setdefault("RIPPLES_SECRET_KEY", "priv_test_not_a_real_key")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "budgets.sqlite")})
