"""The ``ripples`` command line: ``ripples <command> [options]``."""

from __future__ import annotations

import argparse
from typing import Optional

from ._demo import add_demo_parser
from .dev._cli import add_dev_parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ripples", description="Ripples SDK tools.")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    commands.required = True
    add_dev_parser(commands)
    add_demo_parser(commands)
    args = parser.parse_args(argv)
    return int(args.func(args))
