"""Fixtures for the testing-support tests: ``pytester`` runs users' test files in a sandbox."""

from __future__ import annotations

pytest_plugins = ["pytester"]
