"""The budgets example as a Flask app factory: ``gunicorn 'budget_flask:create_app()'``."""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

from flask import Flask
from flask.logging import default_handler

from . import api, auth, csrf, db, views
from .extensions import ripples


def create_app(test_config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the app; configuration comes from the environment unless a test passes its own.

    Ripples reads ``RIPPLES_SECRET_KEY`` and ``RIPPLES_URL`` from the environment by
    itself; ``app.config["RIPPLES_..."]`` keys would override them.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "dev-only-never-deploy-this"),
        DATABASE=os.environ.get("BUDGETS_DB", os.path.join(app.instance_path, "budgets.sqlite3")),
    )
    if test_config is not None:
        app.config.update(test_config)

    ripples.init_app(app)
    # Delivery problems (a wrong key, the API unreachable) show up in the server's log.
    if default_handler not in logging.getLogger("ripples").handlers:
        logging.getLogger("ripples").addHandler(default_handler)
    db.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    return app
