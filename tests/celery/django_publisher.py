"""A Django project whose view publishes a Celery task, driven in-process by Django's test client.

Run as ``python -m tests.celery.django_publisher USER [VISITOR]``: Ripples is
set up only by ``"ripples_celery"`` in ``INSTALLED_APPS`` (``CELERY_APP``
names the test app), and the request carries the visitor cookie when given.
Prints the response status and body.
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path


def publish_signup(request: HttpRequest) -> HttpResponse:
    from tests.celery.worker_app import signup

    signup.apply_async(args=[request.GET["user"]], queue=os.environ["RIPPLES_TEST_QUEUE"])
    return HttpResponse("queued")


urlpatterns = [path("signup/", publish_signup)]


def main(user: str, visitor: str | None) -> None:
    settings.configure(
        SECRET_KEY="django-insecure-test-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["ripples_django", "ripples_celery"],
        MIDDLEWARE=["ripples_django.middleware.RipplesMiddleware"],
        DATABASES={},
        CELERY_APP="tests.celery.worker_app.app",
    )
    django.setup()
    from django.test import Client

    from ripples import VISITOR_COOKIE

    browser = Client()
    if visitor is not None:
        browser.cookies[VISITOR_COOKIE] = visitor
    response = browser.get("/signup/", {"user": user})
    print(response.status_code, response.content.decode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
