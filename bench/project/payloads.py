"""The requests the benchmark sends: realistic Slack bodies, signed as Slack signs them.

Slack's signature covers a timestamp that Bolt accepts for five minutes only, so callers sign
again for every round (:func:`signed_headers`) rather than once at start-up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .common import ACTION_ID, COMMAND, POSTING_COMMAND, SIGNING_SECRET, WORKING_COMMAND

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    body: str
    content_type: str
    # True when the listener must call ack() itself: Bolt's runner then polls every 10 ms.
    listener_acks: bool
    # A text the adapters' response must contain (checked during warm-up).
    expect_in_body: str = ""


def _slash_command_body(command: str = COMMAND) -> str:
    return urlencode(
        {
            "token": "verification-token",
            "team_id": "T0BENCH",
            "team_domain": "bench",
            "channel_id": "C0BENCH",
            "channel_name": "general",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": command,
            "text": "hello",
            "api_app_id": "A0BENCH",
            "response_url": "https://hooks.slack.com/commands/T0BENCH/1/x",
            "trigger_id": "111.222.333",
        }
    )


def app_mention_body(team_id: str = "T0BENCH", bot_user_id: str = "U0BOT", event_id: str = "Ev0BENCH") -> str:
    """An ``app_mention`` of the bot ``bot_user_id`` by Alice, in the workspace ``team_id``."""
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": team_id,
            "api_app_id": "A0BENCH",
            "event": {
                "type": "app_mention",
                "user": "U0ALICE",
                "text": f"<@{bot_user_id}> hello",
                "ts": "1700000000.000100",
                "channel": "C0BENCH",
                "event_ts": "1700000000.000100",
            },
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1700000000,
            "authorizations": [
                {"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True}
            ],
        }
    )


def _block_action_body() -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0BENCH", "domain": "bench"},
        "user": {"id": "U0ALICE", "username": "alice", "team_id": "T0BENCH"},
        "api_app_id": "A0BENCH",
        "token": "verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0BENCH"},
        "trigger_id": "111.222.333",
        "channel": {"id": "C0BENCH", "name": "general"},
        "response_url": "https://hooks.slack.com/actions/T0BENCH/1/x",
        "actions": [
            {
                "action_id": ACTION_ID,
                "block_id": "b1",
                "type": "button",
                "value": "yes",
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("slash_command", "slash command", _slash_command_body(), FORM, True, "bench ok"),
    Scenario(
        "command_then_work",
        "slash command, then 1 ms of work",
        _slash_command_body(WORKING_COMMAND),
        FORM,
        True,
        "bench ok",
    ),
    Scenario("app_mention", "app_mention event", app_mention_body(), JSON, False),
    Scenario("block_action", "block action", _block_action_body(), FORM, True),
)
SCENARIOS_BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}

# The async part's load: a slash command whose listener calls chat.postMessage, then acknowledges.
POSTING_SCENARIO = Scenario(
    "posting_command",
    "slash command, chat.postMessage before ack()",
    _slash_command_body(POSTING_COMMAND),
    FORM,
    True,
    "bench ok",
)


def signed_headers(body: str) -> dict[str, str]:
    """Slack's signature headers for ``body``, timestamped now (valid for five minutes)."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}
