"""Every package's ``__all__`` is exactly its public surface: nothing missing, nothing stray."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "ripples",
    "ripples.dev",
    "ripples.testing",
    "ripples_django",
    "ripples_flask",
    "ripples_asgi",
]


def _defined_here(package: str, value: object) -> bool:
    home = getattr(value, "__module__", None)
    if isinstance(value, types.ModuleType) or not isinstance(home, str):
        return False
    return home == package or home.startswith(package + ".")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_public_surface(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    assert len(exported) == len(package.__all__), "duplicates in __all__"
    for public in exported:  # resolves (also loads lazily exported names)
        assert getattr(package, public) is not None, public
    stray = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_") and _defined_here(name, value)
    }
    assert stray <= exported, f"public but not in __all__: {sorted(stray - exported)}"
    for public in exported:
        value = getattr(package, public)
        if isinstance(value, type):  # reprs and tracebacks show a public path
            private = [part for part in value.__module__.split(".") if part.startswith("_")]
            assert not private, f"{public} shows {value.__module__}"
