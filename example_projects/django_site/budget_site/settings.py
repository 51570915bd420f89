"""Settings for the budgets example: everything a deployment changes comes from the environment.

``RIPPLES_SECRET_KEY`` and ``RIPPLES_URL`` configure the Ripples client (``ripples dev``
prints a URL to use locally); ``BUDGETS_DB`` moves the SQLite file, ``DJANGO_SECRET_KEY``
and ``DJANGO_DEBUG`` do what they say.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only-never-deploy-this")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "ripples_django",  # optional: system checks and `manage.py ripples_check`
    "budgets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so every event tracked while handling the request gets its visitor.
    "ripples_django.middleware.RipplesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The client behind `from ripples_django import ripples`. Unset keys fall back to
# the same environment variables, so these two lines only make the source visible.
RIPPLES = {
    "SECRET_KEY": os.environ.get("RIPPLES_SECRET_KEY"),
    "BASE_URL": os.environ.get("RIPPLES_URL"),
}

ROOT_URLCONF = "budget_site.urls"
WSGI_APPLICATION = "budget_site.wsgi.application"
ASGI_APPLICATION = "budget_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BUDGETS_DB", str(BASE_DIR / "db.sqlite3")),
        # gunicorn threads write concurrently: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "budgets.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Delivery problems (a wrong key, the API unreachable) show up in the server log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"ripples": {"handlers": ["console"], "level": "WARNING"}},
}
