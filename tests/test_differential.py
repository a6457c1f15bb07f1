"""Differential tests: for valid requests, ours answers exactly as Bolt's own Django adapter does.

Bolt's adapter (``slack_bolt.adapter.django``) is the oracle; both serve the same app definition
through the same URLconf and middleware.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler

from .support import block_action_body, command_body, event_body, make_app, signature_headers

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def build_app(**kwargs: object) -> App:
    app = make_app(**kwargs)  # type: ignore[arg-type]
    app.command("/echo")(lambda ack, command: ack(f"echo: {command['text']}"))
    app.command("/blocks")(
        lambda ack: ack(
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}],
            response_type="in_channel",
        )
    )
    app.command("/empty")(lambda ack: ack())
    app.event("app_mention")(lambda event: None)
    app.action("approve")(lambda ack: ack())
    app.view("form")(
        lambda ack: ack(
            response_action="update",
            view={"type": "modal", "title": {"type": "plain_text", "text": "Next"}, "blocks": []},
        )
    )
    app.shortcut("open_global")(lambda ack: ack())
    app.shortcut("open_message")(lambda ack: ack())
    app.options("pick")(
        lambda ack: ack(options=[{"text": {"type": "plain_text", "text": "A"}, "value": "a"}])
    )
    return app


def _payload(payload: dict[str, object]) -> str:
    return urlencode({"payload": json.dumps(payload)})


TEAM = {"id": "T111", "domain": "example"}
USER = {"id": "U111", "username": "alice", "team_id": "T111"}

REQUESTS: list[tuple[str, str, str]] = [
    ("slash command", command_body("/echo", "differential"), FORM),
    ("slash command with blocks", command_body("/blocks"), FORM),
    ("slash command empty ack", command_body("/empty"), FORM),
    ("unhandled slash command", command_body("/nobody"), FORM),
    ("app_mention event", event_body(), JSON),
    ("unhandled event", event_body("reaction_added"), JSON),
    ("block action", block_action_body("approve"), FORM),
    (
        "view submission",
        _payload(
            {
                "type": "view_submission",
                "team": TEAM,
                "user": USER,
                "api_app_id": "A111",
                "view": {"id": "V1", "type": "modal", "callback_id": "form", "state": {"values": {}}},
            }
        ),
        FORM,
    ),
    (
        "global shortcut",
        _payload(
            {"type": "shortcut", "team": TEAM, "user": USER, "callback_id": "open_global", "trigger_id": "1"}
        ),
        FORM,
    ),
    (
        "message shortcut",
        _payload(
            {
                "type": "message_action",
                "team": TEAM,
                "user": USER,
                "callback_id": "open_message",
                "trigger_id": "1",
                "channel": {"id": "C111"},
                "message": {"type": "message", "text": "hi", "ts": "1.1"},
                "response_url": "https://hooks.slack.com/app/x",
            }
        ),
        FORM,
    ),
    (
        "options",
        _payload(
            {
                "type": "block_suggestion",
                "team": TEAM,
                "user": USER,
                "action_id": "pick",
                "block_id": "b",
                "value": "a",
            }
        ),
        FORM,
    ),
    ("url verification", json.dumps({"type": "url_verification", "challenge": "xyz", "token": "t"}), JSON),
    ("ssl check", "ssl_check=1&token=abc", FORM),
]


@pytest.fixture
def served(serve) -> dict[str, str]:
    return {
        "ours": serve(SlackRequestHandler(build_app()).handle),
        "bolt": serve(BoltSlackRequestHandler(build_app()).handle),
    }


@pytest.mark.parametrize(("body", "content_type"), [pytest.param(b, c, id=n) for n, b, c in REQUESTS])
def test_same_status_body_and_content_type_as_bolts_adapter(client, served, body, content_type):
    logging.disable(logging.WARNING)  # unhandled requests make both log Bolt's suggestion
    try:
        answers = {}
        for name, url in served.items():
            resp = client.post(url, body, content_type=content_type, **signature_headers(body))
            answers[name] = (resp.status_code, resp.content, resp.get("Content-Type"))
    finally:
        logging.disable(logging.NOTSET)
    assert answers["ours"] == answers["bolt"]


@pytest.mark.parametrize("process_before_response", [True, False])
def test_same_answers_in_both_listener_modes(client, serve, process_before_response):
    urls = {
        "ours": serve(SlackRequestHandler(build_app(process_before_response=process_before_response)).handle),
        "bolt": serve(
            BoltSlackRequestHandler(build_app(process_before_response=process_before_response)).handle
        ),
    }
    for _, body, content_type in REQUESTS[:3]:
        answers = {
            name: client.post(url, body, content_type=content_type, **signature_headers(body))
            for name, url in urls.items()
        }
        assert (answers["ours"].status_code, answers["ours"].content) == (
            answers["bolt"].status_code,
            answers["bolt"].content,
        )


def test_unsigned_valid_request_is_refused_by_both(client, served):
    body = command_body()
    for url in served.values():
        assert client.post(url, body, content_type=FORM).status_code == 401
