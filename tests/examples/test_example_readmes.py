"""Each example's README documents the exact command the demo and these tests run it with."""

from __future__ import annotations

import shlex

import pytest

from ripples._demo._apps import EXAMPLES, Example

from .helpers import EXAMPLES_DIR

ADDRESS_OPTIONS = {"--bind", "--port"}  # a person picks a port; the demo binds a free socket


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.name)
def test_the_readme_run_command_is_the_one_the_demo_uses(example: Example) -> None:
    readme = (EXAMPLES_DIR / example.directory / "README.md").read_text(encoding="utf-8")
    commands = [
        line.split("&& ")[-1]
        for line in readme.splitlines()
        if line.split("&& ")[-1].startswith(example.server + " ")
    ]
    assert len(commands) == 1, commands
    words = shlex.split(commands[0])
    for option in ADDRESS_OPTIONS & set(words):
        del words[words.index(option) : words.index(option) + 2]
    assert words == [example.server, *example.serve]
    assert "RIPPLES_SECRET_KEY=" in readme and "RIPPLES_URL=" in readme
