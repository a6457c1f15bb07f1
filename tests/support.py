"""Small helpers shared by the adapter tests."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"


def signature_headers(
    body: str | bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Django test-client kwargs carrying Slack's signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=text)
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": ts, "HTTP_X_SLACK_SIGNATURE": signature or ""}


def command_body(command: str = "/echo", text: str = "hi") -> str:
    return urlencode(
        {
            "token": "verification-token",
            "team_id": "T111",
            "team_domain": "example",
            "channel_id": "C111",
            "channel_name": "general",
            "user_id": "U111",
            "user_name": "alice",
            "command": command,
            "text": text,
            "api_app_id": "A111",
            "response_url": "https://hooks.slack.com/commands/T111/1/x",
            "trigger_id": "111.222.333",
        }
    )


def event_body(event_type: str = "app_mention", text: str = "<@U0BOT> hello") -> str:
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": "T111",
            "api_app_id": "A111",
            "event": {
                "type": event_type,
                "user": "U111",
                "text": text,
                "ts": "1700000000.000100",
                "channel": "C111",
                "event_ts": "1700000000.000100",
            },
            "type": "event_callback",
            "event_id": "Ev111",
            "event_time": 1700000000,
            "authorizations": [
                {"enterprise_id": None, "team_id": "T111", "user_id": "U0BOT", "is_bot": True}
            ],
        }
    )


def block_action_body(action_id: str = "approve", value: str = "yes") -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T111", "domain": "example"},
        "user": {"id": "U111", "username": "alice", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C111"},
        "trigger_id": "111.222.333",
        "channel": {"id": "C111", "name": "general"},
        "response_url": "https://hooks.slack.com/actions/T111/1/x",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "type": "button",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-test-token",
        bot_id="B111",
        bot_user_id="U0BOT",
        user_id=user_id,
    )


def make_app(**kwargs: Any) -> App:
    """A Bolt app with no Web API dependency: static authorization, the suite's signing secret."""
    kwargs.setdefault("signing_secret", SIGNING_SECRET)
    kwargs.setdefault("authorize", authorize)
    return App(**kwargs)


def bolt_response_summary(status: int, body: str | bytes, content_type: str | None) -> tuple[int, str, str]:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return status, text, (content_type or "").split(";")[0].strip()


