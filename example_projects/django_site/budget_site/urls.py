"""The site's URLs: everything lives in the budgets app."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("budgets.urls"))]
