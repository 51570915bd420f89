"""Settings of the test project; Ripples is configured from the environment.

``RIPPLES_TEST_MIDDLEWARE=0`` leaves the middleware out (the documented
example must work without it). ``FLUSH_INTERVAL`` is long on purpose: events
that arrive quickly were sent by the middleware's flush, not by the timer.
"""

from __future__ import annotations

import os

# "project" under the servers (tests/django on sys.path), "tests.django.project" in pytest.
_PACKAGE = __name__.rsplit(".", 1)[0]

SECRET_KEY = "django-insecure-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = f"{_PACKAGE}.urls"
INSTALLED_APPS = ["ripples_django"]
MIDDLEWARE = (
    ["ripples_django.middleware.RipplesMiddleware"]
    if os.environ.get("RIPPLES_TEST_MIDDLEWARE", "1") == "1"
    else []
)
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
RIPPLES = {
    "FLUSH_INTERVAL": float(os.environ.get("RIPPLES_TEST_FLUSH_INTERVAL", "60")),
    "TIMEOUT": 5,  # a response that waited on a hung API would take this long
}
