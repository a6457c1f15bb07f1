"""Requests built by hand, as code and tests written for Bolt's adapter build them, and headers only
Bolt may set.

Bolt's own adapter tests (and many projects') build a request with ``RequestFactory`` and replace its
headers with a plain dict, in any case, whose values are strings or lists of strings; BoltRequest
takes the first value of a list. Both handlers must give the answer Bolt's adapter gives (the oracle).

``X-Slack-Bolt-Lazy-Only`` and ``X-Slack-Bolt-Lazy-Function-Name`` are Bolt's own, for re-running one
lazy listener alone: arriving over HTTP, they are dropped before Bolt sees the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest
from django.test import RequestFactory
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import SlackRequest, app_mention, block_action, slash_command

from .support import SIGNING_SECRET, make_app

HeaderShape = Callable[[str, str], tuple[str, Any]]

# name -> (header name, value) as a hand-written dict holds it.
SHAPES: dict[str, HeaderShape] = {
    "str": lambda name, value: (name.lower(), value),
    "list": lambda name, value: (name.lower(), [value]),
    "list, title case": lambda name, value: (name.title(), [value]),
    "str, upper case": lambda name, value: (name.upper(), value),
    "tuple": lambda name, value: (name.lower(), (value,)),
}


def build_app(**kwargs: Any) -> App:
    app = make_app(**kwargs)
    app.command("/echo")(lambda ack, command: ack(f"echo: {command['text']}"))
    app.event("app_mention")(lambda event: None)
    app.action("approve")(lambda ack: ack())
    return app


def hand_built(slack_request: SlackRequest, shape: HeaderShape) -> HttpRequest:
    """The request as Bolt's adapter tests build it: headers replaced by a plain dict."""
    request = RequestFactory().post(
        "/slack/events", data=slack_request.body, content_type=slack_request.content_type
    )
    headers = {"Content-Type": slack_request.content_type, **slack_request.headers}
    request.headers = dict(shape(name, value) for name, value in headers.items())  # type: ignore[misc]
    return request


REQUESTS = {
    "slash command": lambda: slash_command("/echo", "by hand", signing_secret=SIGNING_SECRET),
    "event": lambda: app_mention("hello", signing_secret=SIGNING_SECRET),
    "block action": lambda: block_action("approve", "yes", signing_secret=SIGNING_SECRET),
    "unsigned": lambda: slash_command("/echo", "x", signing_secret=SIGNING_SECRET).unsigned(),
}


def _answer(response: Any) -> tuple[int, bytes, str]:
    # The media type: Bolt's refusals add ";charset=utf-8", ours do not.
    return response.status_code, response.content, response.get("Content-Type", "").split(";")[0]


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(REQUESTS))
def test_hand_built_headers_get_bolts_answer(kind: str, shape: str) -> None:
    slack_request = REQUESTS[kind]()
    ours = SlackRequestHandler(build_app()).handle(hand_built(slack_request, SHAPES[shape]))
    # Bolt's adapter takes str and list values; for a tuple (which BoltRequest refuses with a
    # ValueError, a 500) the oracle is its answer to the same value as a list.
    oracle_shape = SHAPES["list"] if shape == "tuple" else SHAPES[shape]
    theirs = BoltSlackRequestHandler(build_app()).handle(hand_built(slack_request, oracle_shape))
    assert _answer(ours) == _answer(theirs)
    assert ours.status_code == (401 if kind == "unsigned" else 200)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_hand_built_headers_reach_the_async_handler(shape: str) -> None:
    pytest.importorskip("aiohttp")
    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt import AsyncSlackRequestHandler

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=_async_authorize)

    @app.command("/echo")
    async def echo(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"echo: {command['text']}")

    request = hand_built(slash_command("/echo", "async", signing_secret=SIGNING_SECRET), SHAPES[shape])
    response = async_to_sync(AsyncSlackRequestHandler(app).handle)(request)
    assert (response.status_code, response.content) == (200, b"echo: async")


async def _async_authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
    from tests.support import authorize

    return authorize(enterprise_id, team_id, user_id)


def test_header_values_of_other_types_are_a_400_not_a_500() -> None:
    request = RequestFactory().post("/slack/events", data="command=%2Fecho", content_type="x")
    request.headers = {"x-slack-signature": 5, "x-slack-request-timestamp": ["1"]}  # type: ignore[misc]
    response = SlackRequestHandler(build_app()).handle(request)
    assert response.status_code == 400
    assert json.loads(response.content) == {"error": "malformed request headers"}


LAZY_HEADERS = {"X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "work"}


def _lazy_app(runs: list[str], done: threading.Event) -> App:
    app = make_app()

    def work(body: dict[str, Any]) -> None:
        runs.append("work")
        done.set()

    app.command("/report")(ack=lambda ack: ack("on it"), lazy=[work])
    return app


@pytest.mark.parametrize("how", ["through the URLconf", "hand-built, list values"])
def test_bolts_lazy_headers_from_a_client_are_dropped(client: Any, serve: Any, how: str) -> None:
    runs: list[str] = []
    done = threading.Event()
    app = _lazy_app(runs, done)
    # A captured signed command replayed with Bolt's internal headers added: Bolt alone would run only
    # the lazy function (once per replay), without the ack. Dropped, the request is an ordinary one.
    slack_request = slash_command("/report", signing_secret=SIGNING_SECRET).with_headers(LAZY_HEADERS)
    if how == "through the URLconf":
        response = slack_request.post(client, serve(SlackRequestHandler(app).handle))
    else:
        response = SlackRequestHandler(app).handle(hand_built(slack_request, SHAPES["list"]))
    assert (response.status_code, response.content) == (200, b"on it")
    assert done.wait(5)
    assert runs == ["work"]


def test_bolt_alone_honours_the_lazy_headers() -> None:
    # The control: Bolt's adapter runs the lazy function alone, with no ack, for a client's headers.
    runs: list[str] = []
    done = threading.Event()
    slack_request = slash_command("/report", signing_secret=SIGNING_SECRET).with_headers(LAZY_HEADERS)
    response = BoltSlackRequestHandler(_lazy_app(runs, done)).handle(
        hand_built(slack_request, SHAPES["list"])
    )
    assert done.wait(5)
    assert response.content != b"on it"
    assert runs == ["work"]
