"""Differential tests: for valid requests, ours answers exactly as Bolt's own Django adapter does.

Bolt's adapter (``slack_bolt.adapter.django``) is the oracle; both serve the same app definition
through the same URLconf and middleware.
"""

from __future__ import annotations

import logging

import pytest
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_USER_ID,
    SlackRequest,
    app_mention,
    block_action,
    event,
    global_shortcut,
    message_shortcut,
    options,
    slash_command,
    url_verification,
    view_submission,
)

from .support import SIGNING_SECRET, make_app


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


# Built once, so both adapters get the very same body; signed in each test (a signature made at
# import time could be stale by the time the test runs).
REQUESTS: list[tuple[str, SlackRequest]] = [
    ("slash command", slash_command("/echo", "differential", signing_secret=None)),
    ("slash command with blocks", slash_command("/blocks", signing_secret=None)),
    ("slash command empty ack", slash_command("/empty", signing_secret=None)),
    ("unhandled slash command", slash_command("/nobody", signing_secret=None)),
    ("app_mention event", app_mention("hello", signing_secret=None)),
    (
        "unhandled event",
        event(
            {
                "type": "reaction_added",
                "user": DEFAULT_USER_ID,
                "reaction": "thumbsup",
                "item": {"type": "message", "channel": DEFAULT_CHANNEL_ID, "ts": "1700000000.000100"},
            },
            signing_secret=None,
        ),
    ),
    ("block action", block_action("approve", "yes", signing_secret=None)),
    ("view submission", view_submission("form", signing_secret=None)),
    ("global shortcut", global_shortcut("open_global", signing_secret=None)),
    ("message shortcut", message_shortcut("open_message", signing_secret=None)),
    ("options", options("pick", "a", signing_secret=None)),
    ("url verification", url_verification("xyz", signing_secret=None)),
    (
        "ssl check",
        SlackRequest(body="ssl_check=1&token=abc", content_type="application/x-www-form-urlencoded"),
    ),
]


@pytest.fixture
def served(serve) -> dict[str, str]:
    return {
        "ours": serve(SlackRequestHandler(build_app()).handle),
        "bolt": serve(BoltSlackRequestHandler(build_app()).handle),
    }


@pytest.mark.parametrize("slack_request", [pytest.param(request, id=name) for name, request in REQUESTS])
def test_same_status_body_and_content_type_as_bolts_adapter(client, served, slack_request):
    signed = slack_request.signed(SIGNING_SECRET)
    logging.disable(logging.WARNING)  # unhandled requests make both log Bolt's suggestion
    try:
        answers = {}
        for name, url in served.items():
            resp = signed.post(client, url)
            answers[name] = (resp.status_code, resp.content, resp.get("Content-Type"))
    finally:
        logging.disable(logging.NOTSET)
    assert answers["ours"] == answers["bolt"]
    assert answers["ours"][0] != 401, "the signed request was refused: nothing was compared"


@pytest.mark.usefixtures("allow_replays")  # the same signed request, to both modes
@pytest.mark.parametrize("process_before_response", [True, False])
def test_same_answers_in_both_listener_modes(client, serve, process_before_response):
    urls = {
        "ours": serve(SlackRequestHandler(build_app(process_before_response=process_before_response)).handle),
        "bolt": serve(
            BoltSlackRequestHandler(build_app(process_before_response=process_before_response)).handle
        ),
    }
    for _, request in REQUESTS[:3]:
        signed = request.signed(SIGNING_SECRET)
        answers = {name: signed.post(client, url) for name, url in urls.items()}
        assert (answers["ours"].status_code, answers["ours"].content) == (
            answers["bolt"].status_code,
            answers["bolt"].content,
        )


def test_unsigned_valid_request_is_refused_by_both(client, served):
    request = slash_command("/echo", "hi", signing_secret=None)
    for url in served.values():
        assert request.post(client, url).status_code == 401
