"""A Django project whose view publishes a Celery task, driven in-process by Django's test client.

Run as ``python -m tests.celery.django_publisher USER[=VISITOR] ...``: one
request per argument, carrying the visitor cookie when given; each publishes a
``signup`` task, plus ``track_many`` (``RIPPLES_TEST_STEPS`` events, default
none). Ripples is set up only by ``"ripples_celery"`` in ``INSTALLED_APPS``
(``CELERY_APP`` names the test app). Prints each response's status and body.
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path


def publish_signup(request: HttpRequest) -> HttpResponse:
    from tests.celery.worker_app import signup, track_many

    user, queue = request.GET["user"], os.environ["RIPPLES_TEST_QUEUE"]
    signup.apply_async(args=[user], queue=queue)
    steps = int(os.environ.get("RIPPLES_TEST_STEPS", "0"))
    if steps:
        track_many.apply_async(args=[user, steps], queue=queue)
    return HttpResponse("queued")


urlpatterns = [path("signup/", publish_signup)]


def main(requests: list[str]) -> None:
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

    for request in requests:
        user, _, visitor = request.partition("=")
        browser = Client()
        if visitor:
            browser.cookies[VISITOR_COOKIE] = visitor
        response = browser.get("/signup/", {"user": user})
        print(response.status_code, response.content.decode())


if __name__ == "__main__":
    main(sys.argv[1:])
