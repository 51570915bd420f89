"""The public surface of ``ripples_flask`` is exactly ``__all__``."""

from __future__ import annotations
import __future__

import types

import ripples_flask


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(ripples_flask).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public == set(ripples_flask.__all__) == {"Ripples"}
    assert ripples_flask.Ripples.__module__ == "ripples_flask"
