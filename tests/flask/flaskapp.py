"""The Flask app the tests run under real servers (gunicorn gthread, ``flask run``).

Configured only through the environment: ``RIPPLES_SECRET_KEY``/``RIPPLES_URL``
(read by the core) and ``TESTAPP_RIPPLES_*`` keys, which Flask's
``from_prefixed_env`` turns into ``RIPPLES_*`` config (JSON-decoded). Each
response tells the test which server thread handled it, in which order, so
the tests can prove that a cookie-less request really reused a thread that had
served a visitor.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request, send_file, stream_with_context

from ripples import Ripples as CoreRipples
from ripples_flask import Ripples

ripples = Ripples()
_order = itertools.count()
_gates: dict[str, threading.Event] = {}
_gates_lock = threading.Lock()


def _gate(name: str) -> threading.Event:
    with _gates_lock:
        return _gates.setdefault(name, threading.Event())


def _where() -> dict[str, int]:
    return {"thread": threading.get_ident(), "order": next(_order)}


def create_app(extension: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.from_prefixed_env("TESTAPP")
    if extension:
        ripples.init_app(app)

    @app.get("/hello")
    def hello() -> str:
        return "Hello, World!"

    @app.get("/track")
    def track() -> Response:
        ripples.track("viewed page", request.args["user"], area="tests")
        return jsonify(_where())

    @app.get("/core-client")
    def core_client() -> Response:
        # Any client, not only the extension's, picks up the request's visitor.
        CoreRipples().track("used core client", request.args["user"])
        return jsonify(_where())

    @app.get("/stream")
    def stream() -> Response:
        user, gate = request.args["user"], _gate(request.args["gate"])

        def body() -> Iterator[str]:
            ripples.track("stream started", user)
            yield "first\n"
            gate.wait(10)
            ripples.track("stream finished", user)
            yield "last\n"

        return Response(stream_with_context(body()), mimetype="text/plain")

    @app.get("/stream-plain")
    def stream_plain() -> Response:
        # A plain generator runs after the request context is gone: keep the client.
        user, gate, client = request.args["user"], _gate(request.args["gate"]), ripples.client

        def body() -> Iterator[str]:
            client.track("stream started", user)
            yield "first\n"
            gate.wait(10)
            client.track("stream finished", user)
            yield "last\n"

        return Response(body(), mimetype="text/plain")

    @app.get("/release")
    def release() -> str:
        _gate(request.args["gate"]).set()
        return "released"

    @app.get("/file")
    def file() -> Response:
        ripples.track("downloaded file", request.args["user"])
        return send_file(__file__, mimetype="text/plain")

    @app.post("/register")
    def register() -> Response:
        # The documented example, unchanged (python-sdk-docs.txt, "Flask example").
        user_id = request.form["user_id"]
        ripples = CoreRipples()
        ripples.signup(user_id,
            email=f"{user_id}@example.com",
            name="Jane Smith",
            ripples_visitor_id=request.cookies.get("_rpl_vid"),
        )
        ripples.flush()
        return jsonify({"id": user_id})

    return app
