"""The benchmark's Bolt apps: one per served variant, so no adapter sees another's changes.

Both adapters change the app they are given (listener runner, start and completion handlers), so
sharing one app would measure whichever adapter was installed last. The adapter comparison's apps
authorize with a static function: none of their requests calls Slack's Web API. The authorization
part's two apps differ only in how they authorize: from the stored installations, through Bolt's
default (which calls ``auth.test`` on every request) or through ``DjangoAuthorize``.
"""

from __future__ import annotations

import json

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore

from . import environment
from .common import ACTION_ID, COMMAND, COMMAND_REPLY, SIGNING_SECRET, WORKING_COMMAND, authorize


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


# --- The authorization part ---------------------------------------------------------------------

AUTH_CLIENT_ID = "1111111111.2222222222"
AUTH_APP_ID = "A0BENCHAUTH"
# Who installed the app in every workspace; the requests come from someone else (U0ALICE).
INSTALLER_USER_ID = "U0INSTALLER"
# Sent with every Web API call, naming the app: the fake Slack counts each app's calls apart. (Bolt
# gives every request a client of its own, with the app client's headers.)
APP_HEADER = "X-Bench-App"

# (team_id, bot_user_id, bot_id) of the last authorization each app handed a listener: the bench
# checks both apps authorize every workspace correctly, not merely that they answer 200.
last_authorized: dict[str, tuple[str | None, str | None, str | None]] = {}


def build_authorize_app(key: str, *, ours: bool) -> App:
    """The same app but for ``authorize``: ``DjangoAuthorize`` (ours) or Bolt's default."""
    store = DjangoInstallationStore(client_id=AUTH_CLIENT_ID)
    client = WebClient(base_url=environment.web_api_url(), headers={APP_HEADER: key})
    if ours:
        app = App(
            signing_secret=SIGNING_SECRET, client=client, authorize=DjangoAuthorize(installation_store=store)
        )
    else:
        # Bolt builds its InstallationStoreAuthorize from the store: auth.test on every request.
        app = App(signing_secret=SIGNING_SECRET, client=client, installation_store=store)

    @app.event("app_mention")
    def bench_mention(context: BoltContext) -> None:
        last_authorized[key] = (context.team_id, context.bot_user_id, context.bot_id)

    return app


bolt_default_authorize_app = build_authorize_app("bolt_default", ours=False)
django_authorize_app = build_authorize_app("django_authorize", ours=True)
