"""The app on a throwaway database, behind Starlette's test client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

# Nothing is sent while the `ripples_events` fixture records; the key only has to exist.
os.environ.setdefault("RIPPLES_SECRET_KEY", "priv_test_not_a_real_key")

import budget_api


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(budget_api, "DB_PATH", str(tmp_path / "budgets.sqlite"))
    with TestClient(budget_api.app) as client:  # runs the lifespan: creates the tables
        yield client
