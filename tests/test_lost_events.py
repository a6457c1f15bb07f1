"""An event whose listener fails after Slack was acknowledged is lost; it must at least be seen."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import OperationalError
from django.test import AsyncClient

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.signals import event_lost
from django_slack_bolt.testing import app_mention, slash_command

from .support import SIGNING_SECRET, authorize, make_app


@pytest.fixture
def lost() -> Any:
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)
        arrived.set()

    event_lost.connect(receiver)
    yield received, arrived
    event_lost.disconnect(receiver)


def test_a_failing_event_listener_reports_the_lost_event(client, serve, lost, caplog):
    received, arrived = lost
    caplog.set_level(logging.ERROR, logger="django_slack_bolt.events")
    app = make_app()

    @app.event("app_mention")
    def mention(event: dict[str, Any]) -> None:
        raise OperationalError("the database is down")

    url = serve(SlackRequestHandler(app).handle)
    request = app_mention("hi", signing_secret=SIGNING_SECRET, event_id="Ev0LOST1")
    assert request.post(client, url).status_code == 200  # acknowledged before the listener ran
    assert arrived.wait(5)
    [report] = received
    assert report["event_id"] == "Ev0LOST1"
    assert report["event_type"] == "app_mention"
    assert isinstance(report["error"], OperationalError)
    [record] = [r for r in caplog.records if r.name == "django_slack_bolt.events"]
    assert "Lost Slack event Ev0LOST1 (app_mention" in record.getMessage()


def test_a_failing_command_is_not_a_lost_event(client, serve, lost):
    # A command's failure is answered (500 from Bolt's error path): Slack tells the user; nothing is lost.
    received, _ = lost
    app = make_app()

    @app.command("/boom")
    def boom(ack: Any) -> None:
        raise OperationalError("the database is down")

    url = serve(SlackRequestHandler(app).handle)
    assert slash_command("/boom", signing_secret=SIGNING_SECRET).post(client, url).status_code == 500
    assert received == []


@pytest.mark.asyncio
async def test_async_event_loss_is_reported(aserve, lost):
    pytest.importorskip("aiohttp")
    import asyncio

    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt import AsyncSlackRequestHandler

    received, _ = lost

    async def async_authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        return authorize(enterprise_id, team_id, user_id)

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=async_authorize)

    async def mention(event: dict[str, Any]) -> None:
        raise OperationalError("the database is down")

    app.event("app_mention")(mention)
    url = aserve(AsyncSlackRequestHandler(app).handle)
    request = app_mention("hi", signing_secret=SIGNING_SECRET, event_id="Ev0LOST2")
    response = await AsyncClient().post(
        url, request.body, content_type=request.content_type, headers=request.headers
    )
    assert response.status_code == 200
    for _ in range(200):
        if received:
            break
        await asyncio.sleep(0.01)
    assert [r["event_id"] for r in received] == ["Ev0LOST2"]
