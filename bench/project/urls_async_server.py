"""What the async part's uvicorn serves: the ``AsyncApp`` only, and the async floors."""

from __future__ import annotations

from django.urls import path

from django_slack_bolt.http.async_handler import AsyncSlackRequestHandler
from django_slack_bolt.http.views import AsyncSlackEventsView

from . import async_apps
from .common import ASYNC_SERVER_BARE_CALL_PATH, ASYNC_SERVER_EVENTS_PATH

urlpatterns = [
    # /bare/ tells the harness the server is up, /pid/ which workers are.
    path("bare/", async_apps.bare),
    path("pid/", async_apps.pid),
    path(ASYNC_SERVER_BARE_CALL_PATH.lstrip("/"), async_apps.bare_call),
    path(
        ASYNC_SERVER_EVENTS_PATH.lstrip("/"),
        AsyncSlackEventsView.as_view(handler=AsyncSlackRequestHandler(async_apps.build_async_app())),
    ),
]
