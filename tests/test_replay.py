"""Replays of signed requests are refused; Slack's retries and fresh requests are not."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import AsyncClient, override_settings

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.checks import check_claims_cache_is_shared
from django_slack_bolt.testing import slash_command

from .apps.failing_cache import FailingCache
from .support import SIGNING_SECRET, authorize, make_app

FAILING_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "flaky": {"BACKEND": "tests.apps.failing_cache.FailingCache", "LOCATION": "flaky"},
}


@pytest.fixture(autouse=True)
def fresh_claims():
    caches["default"].clear()
    FailingCache.failing = set()
    FailingCache.calls = []
    yield
    FailingCache.failing = set()


def counting_app(runs: list[str]) -> Any:
    app = make_app()

    def report(ack: Any, command: dict[str, Any]) -> None:
        runs.append(command["text"])
        ack(f"ran {command['text']}")

    app.command("/report")(report)
    return app


def test_a_replayed_signed_request_is_answered_but_not_run(client, serve, caplog):
    caplog.set_level(logging.INFO, logger="django_slack_bolt")
    runs: list[str] = []
    url = serve(SlackRequestHandler(counting_app(runs)).handle)
    captured = slash_command("/report", "q3", signing_secret=SIGNING_SECRET)
    first = captured.post(client, url)
    replays = [captured.post(client, url) for _ in range(3)]
    assert (first.status_code, first.content) == (200, b"ran q3")
    assert [(r.status_code, r.content) for r in replays] == [(200, b"")] * 3
    assert runs == ["q3"]
    refusals = [r for r in caplog.records if "Refused a replay" in r.getMessage()]
    assert len(refusals) == 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in refusals)


def test_slacks_retries_and_new_requests_are_not_replays(client, serve):
    runs: list[str] = []
    url = serve(SlackRequestHandler(counting_app(runs)).handle)
    original = slash_command("/report", "a", signing_secret=SIGNING_SECRET)
    original.post(client, url)
    # A retry is signed anew by Slack, with its own timestamp; the same body, another signature.
    retry = slash_command(
        "/report", "a", signing_secret=SIGNING_SECRET, timestamp=int(original.timestamp) + 3
    )
    retry = retry.with_headers({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.post(client, url).content == b"ran a"
    assert slash_command("/report", "b", signing_secret=SIGNING_SECRET).post(client, url).content == b"ran b"
    assert runs == ["a", "a", "b"]


def test_replays_run_when_the_guard_is_off(client, serve, settings):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "REFUSE_REPLAYS": False}
    runs: list[str] = []
    url = serve(SlackRequestHandler(counting_app(runs)).handle)
    captured = slash_command("/report", "x", signing_secret=SIGNING_SECRET)
    captured.post(client, url)
    captured.post(client, url)
    assert runs == ["x", "x"]


def test_concurrent_replays_run_once(client, serve):
    runs: list[str] = []
    url = serve(SlackRequestHandler(counting_app(runs)).handle)
    captured = slash_command("/report", "race", signing_secret=SIGNING_SECRET)
    answers: list[bytes] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        answers.append(captured.post(client, url).content)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [b""] * 7 + [b"ran race"]
    assert runs == ["race"]


@override_settings(CACHES=FAILING_CACHES)
def test_a_failing_claims_cache_lets_requests_run_and_logs_the_outage_once(client, serve, settings, caplog):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "CLAIMS_CACHE": "flaky"}
    caplog.set_level(logging.INFO, logger="django_slack_bolt")
    runs: list[str] = []
    url = serve(SlackRequestHandler(counting_app(runs)).handle)
    FailingCache.failing = {"add"}
    for n in range(5):
        response = slash_command("/report", str(n), signing_secret=SIGNING_SECRET).post(client, url)
        assert (response.status_code, response.content) == (200, f"ran {n}".encode())
    outage = [r for r in caplog.records if "cache failed" in r.getMessage()]
    assert len(outage) == 1
    assert "'flaky'" in outage[0].getMessage()
    # It recovers by itself: the next request claims again, and a replay is refused.
    FailingCache.failing = set()
    captured = slash_command("/report", "back", signing_secret=SIGNING_SECRET)
    assert captured.post(client, url).content == b"ran back"
    assert captured.post(client, url).content == b""
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info is not None]


@pytest.mark.asyncio
async def test_async_replays_are_refused(aserve):
    pytest.importorskip("aiohttp")
    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt import AsyncSlackRequestHandler

    async def async_authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        return authorize(enterprise_id, team_id, user_id)

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=async_authorize)
    runs: list[str] = []

    async def report(ack: Any, command: dict[str, Any]) -> None:
        runs.append(command["text"])
        await ack("ran")

    app.command("/report")(report)
    url = aserve(AsyncSlackRequestHandler(app).handle)
    client = AsyncClient()
    captured = slash_command("/report", "async", signing_secret=SIGNING_SECRET)
    contents = []
    for _ in range(3):
        response = await client.post(
            url, captured.body, content_type=captured.content_type, headers=captured.headers
        )
        contents.append((response.status_code, response.content))
    assert contents == [(200, b"ran"), (200, b""), (200, b"")]
    assert runs == ["async"]


# --- the system check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.dummy.DummyCache", True),
        ("django.core.cache.backends.filebased.FileBasedCache", True),
        ("django.core.cache.backends.db.DatabaseCache", False),
        ("django.core.cache.backends.redis.RedisCache", False),
    ],
)
def test_w005_a_claims_cache_other_processes_do_not_see(settings, tmp_path, backend, warned):
    location = (
        str(tmp_path) if "filebased" in backend else "redis://127.0.0.1:1" if "redis" in backend else "t"
    )
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": location}}):
        messages = check_claims_cache_is_shared()
    assert [m.id for m in messages] == (["django_slack_bolt.W005"] if warned else [])
    if warned:
        assert messages[0].hint.startswith('Point SLACK_BOLT["CLAIMS_CACHE"] at a cache every worker shares')


def test_w005_is_silent_when_replays_are_not_refused(settings):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "REFUSE_REPLAYS": False}
    assert check_claims_cache_is_shared() == []


def test_e009_a_claims_cache_that_does_not_exist(settings):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "CLAIMS_CACHE": "nowhere"}
    [message] = check_claims_cache_is_shared()
    assert message.id == "django_slack_bolt.E009"
    assert "CLAIMS_CACHE" in message.msg


@pytest.mark.django_db  # Django 6.1's JSONField check opens the database
def test_manage_py_check_shows_w005(capsys):
    call_command("check")
    assert "django_slack_bolt.W005" in capsys.readouterr().err
