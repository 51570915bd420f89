"""Helpers for the example tests: where the examples are, and a neutral environment for children."""

from __future__ import annotations

import os

from ripples._demo._apps import EXAMPLES, examples_dir

EXAMPLES_DIR = examples_dir()
BY_NAME = {example.name: example for example in EXAMPLES}


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that steers a child's Ripples or Django."""
    env = dict(os.environ)
    for name in ("RIPPLES_SECRET_KEY", "RIPPLES_URL", "RIPPLES_DISABLED", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env
