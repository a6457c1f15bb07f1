"""The Bolt app served through SLACK_BOLT["APP"] in the test suite."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=BOT_TOKEN,
        bot_id="B111",
        bot_user_id="U0BOT",
        user_id=user_id,
    )


app = App(signing_secret=SIGNING_SECRET, authorize=authorize)


@app.command("/echo")
def echo(ack, command):
    ack(f"echo: {command.get('text', '')}")


@app.event("app_mention")
def on_mention(event):
    pass
