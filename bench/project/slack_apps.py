"""Three identical Bolt apps, one per served variant, so no adapter sees another's changes.

Both adapters change the app they are given (listener runner, start and completion handlers), so
sharing one app would measure whichever adapter was installed last. Authorization is a static
function: no request ever calls Slack's Web API.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.authorization import AuthorizeResult

SIGNING_SECRET = "django-slack-bolt-bench-signing-secret"
COMMAND = "/bench"
# A command whose listener goes on working after ack(), as most real listeners do (building and posting
# a message): about a millisecond of CPU in the listener thread.
WORKING_COMMAND = "/bench-work"
COMMAND_REPLY = "bench ok"
ACTION_ID = "bench_button"


def authorize(
    enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: Any
) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-bench-token",
        bot_id="B0BENCH",
        bot_user_id="U0BOT",
        user_id=user_id,
    )


def build_app() -> App:
    """A Bolt app with the benchmark's three listeners."""
    app = App(signing_secret=SIGNING_SECRET, authorize=authorize)

    @app.command(COMMAND)
    def bench_command(ack: Ack) -> None:
        ack(COMMAND_REPLY)

    @app.command(WORKING_COMMAND)
    def bench_working_command(ack: Ack) -> None:
        ack(COMMAND_REPLY)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}} for i in range(1000)]
        json.dumps({"channel": "C0BENCH", "blocks": blocks})

    @app.event("app_mention")
    def bench_mention() -> None:
        # Events are acknowledged by Bolt before the listener runs: this measures the adapter alone.
        return None

    @app.action(ACTION_ID)
    def bench_button(ack: Ack) -> None:
        ack()

    return app


bolt_app = build_app()
ours_app = build_app()
