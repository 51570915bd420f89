from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("hello/", views.hello),
    path("track/", views.track),
    path("legacy/", views.legacy_set_visitor),
    path("stream/", views.stream),
    path("register/", views.register),
    path("atrack/", views.atrack),
    path("astream/", views.astream),
]
