"""URLs of the HTML pages and of the JSON API (under ``/api/``)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import api, views, webhooks

urlpatterns = [
    path("", views.home, name="home"),
    path("register/", views.register, name="register"),
    path("login/", auth_views.LoginView.as_view(template_name="budgets/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("budgets/", views.create_budget, name="create-budget"),
    path("budgets/<int:budget_id>/transactions/", views.add_transaction, name="add-transaction"),
    path("payments/", views.pay, name="pay"),
    path("payments/<str:transaction_id>/refund/", views.refund, name="refund"),
    path("plan/", views.change_plan, name="change-plan"),
    path("profile/", views.edit_profile, name="edit-profile"),
    path("api/register", api.register),
    path("api/budgets", api.create_budget),
    path("api/budgets/<int:budget_id>/transactions", api.add_transaction),
    path("api/payments", api.pay),
    path("api/payments/<str:txn>/refund", api.refund),
    path("api/plan", api.change_plan),
    path("api/profile", api.edit_profile),
    path("webhooks/stripe", webhooks.stripe_webhook),
]
