"""Ripples for Celery: the browser visitor travels with each task, and events leave promptly.

    import ripples_celery
    ripples_celery.install(app, client=ripples)

When a task is published while a visitor is bound (inside a request handled by
an integration, or under ``ripples.bind_visitor``), the visitor id travels in
the task message headers; the worker binds it around the task with
``ripples.bind_visitor``, so ``ripples.signup(...)`` inside the task carries
``$visitor_id`` with no argument. After each task the events are handed to the
background sender (``flush_soon``, never blocking the worker), and when a
prefork child or the worker shuts down the buffer is drained with
``client.close()``, within the client's ``shutdown_timeout``. This holds for
the prefork, threads, solo and gevent pools.

In Django, adding ``"ripples_celery"`` to ``INSTALLED_APPS`` does the same with
the app from ``settings.CELERY_APP`` (a dotted path) or ``celery.current_app``
and the project's client from ``ripples_django``.
"""

from __future__ import annotations

from ._install import VISITOR_HEADER, Installation, install, visitor_from_headers

__all__ = ["VISITOR_HEADER", "Installation", "install", "visitor_from_headers"]
