"""The public API documents itself: the API reference pages are generated from these docstrings.

``mkdocs build --strict`` fails on a broken reference but not on a missing docstring, so
this is the check that every public name has one, and that the client's say what the
reference promises: each option, the units, and the errors raised.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import pytest

from ripples import Ripples

PACKAGES = ("ripples", "ripples.testing", "ripples.dev", "ripples_django", "ripples_flask",
            "ripples_asgi", "ripples_celery")  # fmt: skip
TRACKING = ("revenue", "signup", "track", "identify", "subscription")


def public_objects() -> list[tuple[str, Any]]:
    """Every public function and class, and every public method or property of those classes."""
    found: list[tuple[str, Any]] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue  # constants (VISITOR_COOKIE, __version__) and the Django client proxy
            found.append((f"{package}.{name}", value))
            if inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if attribute.startswith("_") or not (
                        inspect.isfunction(member) or isinstance(member, property)
                    ):
                        continue
                    found.append((f"{package}.{name}.{attribute}", member))
    return found


@pytest.mark.parametrize(("name", "value"), public_objects(), ids=lambda v: str(v)[:60])
def test_every_public_name_has_a_docstring(name: str, value: Any) -> None:
    doc = inspect.getdoc(value)
    assert doc and doc.strip(), f"{name} has no docstring"


def test_every_client_option_is_documented_with_its_default() -> None:
    doc = inspect.getdoc(Ripples) or ""
    args = doc.split("Args:", 1)[1].split("Raises:", 1)[0]
    for parameter in inspect.signature(Ripples.__init__).parameters.values():
        if parameter.name == "self":
            continue
        entry = re.search(rf"^    {parameter.name}: (.*?)(?=^    \w+:|\Z)", args, re.M | re.S)
        assert entry, f"Ripples() option {parameter.name} is not in the class docstring's Args"
        assert "Default" in entry.group(1), f"{parameter.name}: no default documented"
    assert "RipplesError" in doc.split("Raises:", 1)[1]


@pytest.mark.parametrize("method", TRACKING)
def test_tracking_methods_say_what_they_raise_and_the_units(method: str) -> None:
    doc = inspect.getdoc(getattr(Ripples, method)) or ""
    assert "Raises:" in doc and "RipplesValidationError" in doc, method
    assert "timestamp" in doc and "ripples_visitor_id" in doc, method
    if method in ("revenue", "subscription"):
        assert "currency units" in doc, method


@pytest.mark.parametrize("method", ("flush", "aflush", "close"))
def test_delivery_methods_say_their_timeout_unit_default_and_result(method: str) -> None:
    doc = inspect.getdoc(getattr(Ripples, method)) or ""
    assert "seconds" in doc and "Default" in doc and "Returns:" in doc, method
    assert "Never raises" in doc or "never raises" in doc, method
