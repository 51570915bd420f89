"""Accounts: signup, login and logout with the session, and the current user on ``g``."""

from __future__ import annotations

import functools
from typing import Any, Callable

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from . import actions, forms
from .db import get_db

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login"))
        return view(**kwargs)

    return wrapped


@bp.route("/register", methods=("GET", "POST"))
def register() -> Any:
    if request.method == "POST":
        try:
            user = actions.register(**forms.signup(request.form))
        except forms.Invalid as exc:
            flash(str(exc), "error")
        else:
            session.clear()
            session["user_id"] = user["id"]
            flash("Welcome! Your signup was tracked with your visitor id.", "success")
            return redirect(url_for("budgets.dashboard"))
    return render_template("register.html")


@bp.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        user = get_db().execute("SELECT * FROM user WHERE email = ?", (email,)).fetchone()
        if user is not None and check_password_hash(
            user["password_hash"], request.form.get("password", "")
        ):
            session.clear()
            session["user_id"] = user["id"]
            return redirect(url_for("budgets.dashboard"))
        flash("Wrong email or password.", "error")
    return render_template("login.html")


@bp.route("/logout", methods=("POST",))
def logout() -> Any:
    session.clear()
    return redirect(url_for("budgets.home"))
