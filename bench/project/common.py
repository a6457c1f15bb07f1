"""What every Bolt app of the benchmark shares: the signing secret, the commands, a static authorize.

A module of its own, so that the async part's servers, each serving one app, import no other app.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.authorization import AuthorizeResult

SIGNING_SECRET = "django-slack-bolt-bench-signing-secret"
COMMAND = "/bench"
# A command whose listener goes on working after ack(), as most real listeners do (building and posting
# a message): about a millisecond of CPU in the listener thread.
WORKING_COMMAND = "/bench-work"
# A command whose listener calls Slack's Web API (chat.postMessage) before it acknowledges: the async
# part's load, where the call's round trip, not the CPU, sets how long a request takes.
POSTING_COMMAND = "/bench-post"
POSTING_CHANNEL = "C0BENCH"
COMMAND_REPLY = "bench ok"
ACTION_ID = "bench_button"
BOT_TOKEN = "xoxb-bench-token"


def authorize(
    enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: Any
) -> AuthorizeResult:
    """Every request authorized without a Web API call: the apps' own calls are the only ones."""
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=BOT_TOKEN,
        bot_id="B0BENCH",
        bot_user_id="U0BOT",
        user_id=user_id,
    )


# Where the async part's servers serve their apps (project.urls_sync_server, project.urls_async_server).
SYNC_SERVER_EVENTS_PATH = "/sync/events"
ASYNC_SERVER_EVENTS_PATH = "/async/events"
ASYNC_SERVER_BARE_CALL_PATH = "/async/bare-call/"
