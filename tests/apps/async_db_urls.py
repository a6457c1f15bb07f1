"""URLconf of the uvicorn project of tests/test_async_connection_hygiene.py.

``/slack/events`` is django_slack_bolt serving ``SLACK_BOLT["APP"]``; ``/naive/events`` is the control:
a plain AsyncApp behind the async view a project would write without this package, which hands the
request to Bolt and nothing more.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from slack_bolt.request.async_request import AsyncBoltRequest

from tests.apps.async_db_slack_app import naive_app


async def naive_events(request: HttpRequest) -> HttpResponse:
    bolt_request = AsyncBoltRequest(
        body=request.body.decode("utf-8"),
        query=request.META.get("QUERY_STRING", ""),
        headers=dict(request.headers),
    )
    bolt_response = await naive_app.async_dispatch(bolt_request)
    return HttpResponse(bolt_response.body, status=bolt_response.status)


# Django 4.2's csrf_exempt and login decorators wrap an async view in a sync function: mark it instead.
naive_events.csrf_exempt = True  # type: ignore[attr-defined]
naive_events.login_required = False  # type: ignore[attr-defined]


urlpatterns = [
    path("slack/", include("django_slack_bolt.urls")),
    path("naive/events", naive_events),
]
