"""URLs: the Slack Request URL is ``/slack/events`` (commands, events and interactivity alike)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("slack/", include("django_slack_bolt.urls")),
]
