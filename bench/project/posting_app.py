"""The async part's sync side: a Bolt ``App`` whose slash command calls Slack's Web API before ``ack()``.

It has the same two listeners as :func:`project.async_apps.build_async_app`, written the sync way.
"""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from . import environment
from .common import COMMAND, COMMAND_REPLY, POSTING_CHANNEL, POSTING_COMMAND, SIGNING_SECRET, authorize


def build_posting_app() -> App:
    """``/bench`` acknowledges at once; ``/bench-post`` posts a message (to the fake Slack), then acks."""
    app = App(
        signing_secret=SIGNING_SECRET,
        authorize=authorize,
        client=WebClient(base_url=environment.web_api_url()),
    )

    @app.command(COMMAND)
    def bench_command(ack: Ack) -> None:
        ack(COMMAND_REPLY)

    @app.command(POSTING_COMMAND)
    def bench_posting_command(ack: Ack, client: WebClient) -> None:
        client.chat_postMessage(channel=POSTING_CHANNEL, text="bench")
        ack(COMMAND_REPLY)

    return app
