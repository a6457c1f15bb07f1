"""Acks never wait behind lazy work: lazy listeners have a pool of their own.

Bolt runs lazy listeners on the ack functions' executor (five threads): five slow lazy listeners
(an LLM call, a report) fill it, and the next command's ack waits until Slack gives up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from django.test import AsyncClient, Client
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import slash_command

from .support import SIGNING_SECRET, authorize, make_app

IN_FLIGHT = 20


def slow_lazy_app(release: threading.Event, started: list[str]) -> App:
    app = make_app()

    def slow_report(body: dict[str, Any]) -> None:
        started.append(body["text"])
        release.wait(30)  # the slow part: an LLM call, a report

    app.command("/report")(ack=lambda ack: ack("on it"), lazy=[slow_report])
    app.command("/ping")(lambda ack: ack("pong"))
    return app


def _ping(client: Client, url: str) -> tuple[float, Any]:
    began = time.perf_counter()
    response = slash_command("/ping", signing_secret=SIGNING_SECRET).post(client, url)
    return time.perf_counter() - began, response


def test_an_ack_does_not_wait_behind_slow_lazy_listeners(client, serve, settings, caplog):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "LAZY_LISTENER_WORKERS": 8}
    caplog.set_level(logging.WARNING, logger="django_slack_bolt.lazy")
    release, started = threading.Event(), []
    url = serve(SlackRequestHandler(slow_lazy_app(release, started)).handle)
    try:
        for n in range(IN_FLIGHT):
            response = slash_command("/report", str(n), signing_secret=SIGNING_SECRET).post(client, url)
            assert (response.status_code, response.content) == (200, b"on it")
        deadline = time.monotonic() + 5
        while len(started) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(started) == 8  # the pool is full; 12 wait for a place
        elapsed, response = _ping(client, url)
        assert (response.status_code, response.content) == (200, b"pong")
        assert elapsed < 1.0
        warnings = [r for r in caplog.records if "lazy listener workers are busy" in r.getMessage()]
        assert len(warnings) == 1  # once while it is full, not per lazy listener
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while len(started) < IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(started, key=int) == [str(n) for n in range(IN_FLIGHT)]  # none lost


def test_control_bolts_adapter_lets_five_slow_lazy_listeners_starve_the_next_ack(client, serve):
    release, started = threading.Event(), []
    url = serve(BoltSlackRequestHandler(slow_lazy_app(release, started)).handle)
    try:
        for n in range(5):
            slash_command("/report", str(n), signing_secret=SIGNING_SECRET).post(client, url)
        deadline = time.monotonic() + 5
        while len(started) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed, response = _ping(client, url)
        # Bolt waits out its 3-second ack timeout: Slack would show the user an error.
        assert elapsed > 2.5
        assert response.status_code == 404
    finally:
        release.set()


@pytest.mark.asyncio
async def test_async_lazy_listeners_run_at_most_the_pool_size_at_once(aserve, settings, caplog):
    pytest.importorskip("aiohttp")
    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt import AsyncSlackRequestHandler

    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "LAZY_LISTENER_WORKERS": 3}
    caplog.set_level(logging.WARNING, logger="django_slack_bolt.lazy")

    async def async_authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        return authorize(enterprise_id, team_id, user_id)

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=async_authorize)
    release = asyncio.Event()
    running: list[int] = []
    peak: list[int] = [0]
    done: list[str] = []

    async def ack_report(ack: Any) -> None:
        await ack("on it")

    async def slow_report(body: dict[str, Any]) -> None:
        running.append(1)
        peak[0] = max(peak[0], len(running))
        await release.wait()
        running.pop()
        done.append(body["text"])

    async def ping(ack: Any) -> None:
        await ack("pong")

    app.command("/report")(ack=ack_report, lazy=[slow_report])
    app.command("/ping")(ping)
    url = aserve(AsyncSlackRequestHandler(app).handle)
    client = AsyncClient()
    for n in range(10):
        request = slash_command("/report", str(n), signing_secret=SIGNING_SECRET)
        response = await client.post(
            url, request.body, content_type=request.content_type, headers=request.headers
        )
        assert response.content == b"on it"
    for _ in range(100):
        if len(running) == 3:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(running) == 3
    request = slash_command("/ping", signing_secret=SIGNING_SECRET)
    began = time.perf_counter()
    response = await client.post(
        url, request.body, content_type=request.content_type, headers=request.headers
    )
    assert response.content == b"pong"
    assert time.perf_counter() - began < 1.0
    release.set()
    for _ in range(300):
        if len(done) == 10:
            break
        await asyncio.sleep(0.01)
    assert sorted(done, key=int) == [str(n) for n in range(10)]
    assert peak[0] == 3
    assert len([r for r in caplog.records if "lazy listener workers are busy" in r.getMessage()]) == 1
