"""The Bolt AsyncApp the async tests serve through SLACK_BOLT["APP"] (in-process and under uvicorn).

Two environment variables set by tests/test_async_server.py for the uvicorn server, a process of its own:
``DJANGO_SLACK_BOLT_TEST_FAKE_SLACK_URL`` sends the Web API calls to the test's FakeSlack (in-process
tests point the client at theirs instead), and ``DJANGO_SLACK_BOLT_TEST_OAUTH_DIR`` makes it a
multi-workspace app with Bolt's OAuth flow, its installations and states stored in that directory.
"""

from __future__ import annotations

import asyncio
import os

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from tests.apps.slack_app import BOT_TOKEN, SIGNING_SECRET

FAKE_SLACK_URL_ENV = "DJANGO_SLACK_BOLT_TEST_FAKE_SLACK_URL"
OAUTH_DIR_ENV = "DJANGO_SLACK_BOLT_TEST_OAUTH_DIR"
CLIENT_ID = "111.222"
CLIENT_SECRET = "client-secret"

# Seconds the /slow listener keeps working after its ack, before it posts "done".
SLOW_WORK_SECONDS = 1.0


async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=BOT_TOKEN,
        bot_id="B111",
        bot_user_id="U0BOT",
        user_id=user_id,
    )


def _client() -> AsyncWebClient:
    base_url = os.environ.get(FAKE_SLACK_URL_ENV)
    return AsyncWebClient(base_url=base_url) if base_url else AsyncWebClient()


def _oauth_settings(base_dir: str) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=["commands", "chat:write"],
        installation_store=FileInstallationStore(base_dir=os.path.join(base_dir, "installations")),
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=os.path.join(base_dir, "states")),
    )


def build_app() -> AsyncApp:
    oauth_dir = os.environ.get(OAUTH_DIR_ENV)
    if oauth_dir:
        return AsyncApp(
            signing_secret=SIGNING_SECRET, oauth_settings=_oauth_settings(oauth_dir), client=_client()
        )
    return AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize, client=_client())


app = build_app()


@app.command("/echo")
async def echo(ack, command):
    await ack(f"echo: {command.get('text', '')}")


async def acknowledge_later(ack):
    await ack("queued")


async def post_later(command, client):
    await client.chat_postMessage(channel=command["channel_id"], text=f"later: {command['text']}")


app.command("/later")(ack=acknowledge_later, lazy=[post_later])


@app.command("/slow")
async def slow(ack, command, client):
    await ack("on it")
    await asyncio.sleep(SLOW_WORK_SECONDS)
    await client.chat_postMessage(channel=command["channel_id"], text=f"done: {command['text']}")


@app.event("app_mention")
async def on_mention(event, say):
    await say(text=f"you said: {event['text']}", thread_ts=event["ts"])


@app.action("approve")
async def approve(ack, body, respond):
    await ack()
    await respond(f"approved by <@{body['user']['id']}>")


@app.options("pick")
async def pick(ack, payload):
    await ack(options=[{"text": {"type": "plain_text", "text": payload["value"].upper()}, "value": "1"}])


@app.view("form")
async def form(ack):
    await ack(response_action="errors", errors={"b1": "too short"})
