"""What the async part's gunicorn serves: the sync ``App`` only (so a worker's memory is that app's)."""

from __future__ import annotations

from django.urls import path

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.http.views import SlackEventsView

from . import views
from .common import SYNC_SERVER_EVENTS_PATH
from .posting_app import build_posting_app

urlpatterns = [
    # /bare/ tells the harness the server is up, /pid/ which workers are.
    path("bare/", views.bare),
    path("pid/", views.pid),
    path(
        SYNC_SERVER_EVENTS_PATH.lstrip("/"),
        SlackEventsView.as_view(handler=SlackRequestHandler(build_posting_app())),
    ),
]
