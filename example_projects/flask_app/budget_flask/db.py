"""SQLite access: one connection per request, kept on ``g`` and closed on teardown."""

from __future__ import annotations

import os
import sqlite3
from typing import Optional

import click
from flask import Flask, current_app, g


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        # gunicorn threads write concurrently: wait for the lock rather than fail.
        g.db = sqlite3.connect(current_app.config["DATABASE"], timeout=20)
        g.db.row_factory = sqlite3.Row
    connection: sqlite3.Connection = g.db
    return connection


def close_db(exc: Optional[BaseException] = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_db() -> None:
    """Create the tables if they are missing (safe to run on every start)."""
    connection = get_db()
    with current_app.open_resource("schema.sql") as schema:
        connection.executescript(schema.read().decode("utf8"))


@click.command("init-db")
def init_db_command() -> None:
    """Create the tables."""
    init_db()
    click.echo("Initialized the database.")


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    os.makedirs(os.path.dirname(os.path.abspath(app.config["DATABASE"])), exist_ok=True)
    with app.app_context():
        init_db()
