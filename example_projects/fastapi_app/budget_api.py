"""The budgets example as one FastAPI module: ``uvicorn budget_api:app``.

``RipplesMiddleware`` wraps the app, so every event tracked while handling a request,
in an ``async def`` endpoint or a plain ``def`` one run in the thread pool, carries
the visitor from the ``_rpl_vid`` cookie, and events are sent once the response is
out. ``RIPPLES_SECRET_KEY`` and ``RIPPLES_URL`` configure the client; ``BUDGETS_DB``
moves the SQLite file.

Slow or blocking work (password hashing, SQLite) stays off the event loop: the
``def`` endpoints run in the thread pool, and the ``async def`` ones hand their
database work to it with ``run_in_threadpool``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ripples import Ripples
from ripples_asgi import RipplesMiddleware

DB_PATH = os.environ.get("BUDGETS_DB", str(Path(__file__).with_name("budgets.sqlite3")))
#: The 10th transaction is the moment this product considers a user activated.
ACTIVATION_ENTRIES = 10
PRICES = {
    ("free", "month"): Decimal("0.00"),
    ("free", "year"): Decimal("0.00"),
    ("pro", "month"): Decimal("29.00"),
    ("pro", "year"): Decimal("290.00"),
    ("team", "month"): Decimal("99.00"),
    ("team", "year"): Decimal("990.00"),
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS user (
  id INTEGER PRIMARY KEY AUTOINCREMENT, public_id TEXT UNIQUE NOT NULL,
  email TEXT UNIQUE NOT NULL, name TEXT NOT NULL, password_hash TEXT NOT NULL,
  company TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '',
  plan TEXT NOT NULL DEFAULT 'free', api_token TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS budget (
  id INTEGER PRIMARY KEY AUTOINCREMENT, owner_id INTEGER NOT NULL REFERENCES user (id),
  name TEXT NOT NULL, spending_limit TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entry (
  id INTEGER PRIMARY KEY AUTOINCREMENT, budget_id INTEGER NOT NULL REFERENCES budget (id),
  amount TEXT NOT NULL, description TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS payment (
  id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES user (id),
  transaction_id TEXT UNIQUE NOT NULL, plan TEXT NOT NULL, amount TEXT NOT NULL,
  currency TEXT NOT NULL, refunded INTEGER NOT NULL DEFAULT 0);
"""

Plan = Literal["free", "pro", "team"]
Currency = Literal["EUR", "USD", "GBP"]

#: The process's client; the middleware binds each request's visitor for it.
ripples = Ripples()
# Delivery problems (a wrong key, the API unreachable) show up in the server's log.
logging.getLogger("ripples").addHandler(logging.StreamHandler())


def connect() -> sqlite3.Connection:
    # Shared by the pool threads of one request; concurrent writers wait for the lock.
    connection = sqlite3.connect(DB_PATH, timeout=20, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    def create_tables() -> None:
        with connect() as connection:
            connection.executescript(SCHEMA)

    await run_in_threadpool(create_tables)
    yield


app = FastAPI(title="Budgets (Ripples FastAPI example)", lifespan=lifespan)
app.add_middleware(RipplesMiddleware, client=ripples)


def get_db() -> Iterator[sqlite3.Connection]:
    connection = connect()
    try:
        yield connection
    finally:
        connection.close()


Database = Annotated[sqlite3.Connection, Depends(get_db)]


def current_user(db: Database, authorization: Annotated[str, Header()] = "") -> sqlite3.Row:
    scheme, _, token = authorization.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token:
        user = db.execute("SELECT * FROM user WHERE api_token = ?", (token,)).fetchone()
    if user is None:
        raise HTTPException(401, "missing or invalid bearer token")
    return user


CurrentUser = Annotated[sqlite3.Row, Depends(current_user)]


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 200_000)
    return f"pbkdf2_sha256${salt.hex()}${digest.hex()}"


def subscription_id(user: sqlite3.Row) -> str:
    return f"sub_{uuid.UUID(user['public_id']).hex[:16]}"


class Signup(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    name: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=8, max_length=200)


class BudgetIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    limit: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class EntryIn(BaseModel):
    amount: Decimal = Field(max_digits=12, decimal_places=2)
    description: str = Field("", max_length=200)


class PaymentIn(BaseModel):
    plan: Literal["pro", "team"]
    currency: Currency


class PlanIn(BaseModel):
    plan: Plan
    interval: Literal["month", "year"]
    currency: Currency = "EUR"


class ProfileIn(BaseModel):
    name: str = Field(min_length=1, max_length=150)
    company: str = Field("", max_length=150)
    role: str = Field("", max_length=150)


# Plain `def` endpoints: FastAPI runs them in its thread pool, with the request's visitor.


@app.post("/api/register", status_code=201)
def register(signup: Signup, db: Database) -> dict[str, str]:
    email, public_id, token = signup.email.lower(), str(uuid.uuid4()), secrets.token_urlsafe(32)
    try:
        with db:
            db.execute(
                "INSERT INTO user (public_id, email, name, password_hash, api_token)"
                " VALUES (?, ?, ?, ?, ?)",
                (public_id, email, signup.name, hash_password(signup.password), token),
            )
    except sqlite3.IntegrityError:
        raise HTTPException(400, "an account with this email already exists") from None
    ripples.signup(public_id, email=email, name=signup.name, plan="free")
    return {"user_id": public_id, "token": token}


@app.post("/api/budgets", status_code=201)
def create_budget(budget: BudgetIn, user: CurrentUser, db: Database) -> dict[str, Any]:
    with db:
        cursor = db.execute(
            "INSERT INTO budget (owner_id, name, spending_limit) VALUES (?, ?, ?)",
            (user["id"], budget.name, str(budget.limit)),
        )
    ripples.track("created a budget", user["public_id"], area="budgets")
    return {"id": cursor.lastrowid, "name": budget.name}


@app.post("/api/budgets/{budget_id}/transactions", status_code=201)
def add_transaction(
    budget_id: int, entry: EntryIn, user: CurrentUser, db: Database
) -> dict[str, Any]:
    with db:
        if not db.execute(
            "SELECT 1 FROM budget WHERE id = ? AND owner_id = ?", (budget_id, user["id"])
        ).fetchone():
            raise HTTPException(404, "no such budget")
        db.execute(
            "INSERT INTO entry (budget_id, amount, description) VALUES (?, ?, ?)",
            (budget_id, str(entry.amount), entry.description),
        )
        (count,) = db.execute(
            "SELECT count(*) FROM entry JOIN budget ON budget.id = entry.budget_id"
            " WHERE budget.owner_id = ?",
            (user["id"],),
        ).fetchone()
    activated = count == ACTIVATION_ENTRIES
    ripples.track(
        "added transaction",
        user["public_id"],
        area="transactions",
        activated=True if activated else None,
    )
    return {"count": count, "activated": activated}


# `async def` endpoints: tracking never blocks the loop; the database work goes to the pool.


@app.post("/api/payments", status_code=201)
async def pay(payment: PaymentIn, user: CurrentUser, db: Database) -> dict[str, str]:
    transaction_id, amount = f"txn_{secrets.token_hex(8)}", PRICES[(payment.plan, "month")]

    def save() -> None:
        with db:
            db.execute(
                "INSERT INTO payment (user_id, transaction_id, plan, amount, currency)"
                " VALUES (?, ?, ?, ?, ?)",
                (user["id"], transaction_id, payment.plan, str(amount), payment.currency),
            )

    await run_in_threadpool(save)
    ripples.revenue(
        amount,
        user["public_id"],
        email=user["email"],
        currency=payment.currency,
        transaction_id=transaction_id,
        name=f"{payment.plan.title()} plan",
    )
    return {"transaction_id": transaction_id, "amount": str(amount), "currency": payment.currency}


@app.post("/api/payments/{transaction_id}/refund")
async def refund(transaction_id: str, user: CurrentUser, db: Database) -> dict[str, str]:
    def mark_refunded() -> Optional[sqlite3.Row]:
        with db:
            payment = db.execute(
                "SELECT * FROM payment WHERE transaction_id = ? AND user_id = ?",
                (transaction_id, user["id"]),
            ).fetchone()
            if payment is None:
                raise HTTPException(404, "no such payment")
            # Only the request that flips the flag tracks the refund.
            flipped = db.execute(
                "UPDATE payment SET refunded = 1 WHERE id = ? AND refunded = 0", (payment["id"],)
            ).rowcount
        return payment if flipped else None

    payment = await run_in_threadpool(mark_refunded)
    if payment is None:
        raise HTTPException(409, "this payment was already refunded")
    amount = -Decimal(payment["amount"])
    ripples.revenue(
        amount, user["public_id"], currency=payment["currency"], transaction_id=transaction_id
    )
    return {
        "transaction_id": transaction_id,
        "amount": str(amount),
        "currency": payment["currency"],
    }


@app.post("/api/plan")
async def change_plan(change: PlanIn, user: CurrentUser, db: Database) -> dict[str, str]:
    def save() -> None:
        with db:
            db.execute("UPDATE user SET plan = ? WHERE id = ?", (change.plan, user["id"]))

    await run_in_threadpool(save)
    ripples.subscription(
        subscription_id(user),
        user["public_id"],
        "canceled" if change.plan == "free" else "active",
        PRICES[(change.plan, change.interval)],
        interval=change.interval,
        plan=change.plan,
        currency=change.currency,
    )
    return {
        "subscription_id": subscription_id(user),
        "plan": change.plan,
        "interval": change.interval,
    }


@app.patch("/api/profile")
async def edit_profile(profile: ProfileIn, user: CurrentUser, db: Database) -> dict[str, str]:
    def save() -> None:
        with db:
            db.execute(
                "UPDATE user SET name = ?, company = ?, role = ? WHERE id = ?",
                (profile.name, profile.company, profile.role, user["id"]),
            )

    await run_in_threadpool(save)
    ripples.identify(user["public_id"], email=user["email"], **profile.model_dump())
    return profile.model_dump()


#: The page a person clicks through: it sets the visitor cookie, then drives the JSON API.
HOME_PAGE = Path(__file__).with_name("home.html").read_text(encoding="utf-8")


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    return HOME_PAGE
