"""ASGI entry point: ``uvicorn budget_site.asgi:application`` (the middleware is async-capable)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budget_site.settings")

application = get_asgi_application()
