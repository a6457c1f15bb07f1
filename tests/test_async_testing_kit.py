"""``AsyncSlackTestClient``: the test kit's client for an AsyncApp, through Django's async request path.

It shares every request builder with ``SlackTestClient`` (``SlackRequestsMixin``); these tests drive
each request method through ``django_slack_bolt.urls`` serving an AsyncApp (the async views), and the
``async_slack_client`` pytest fixture.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings
from django.urls import clear_url_caches
from slack_bolt.async_app import AsyncApp

import django_slack_bolt.testing
from django_slack_bolt.testing import (
    DEFAULT_CHANNEL_ID,
    RESPONSE_URL_METHOD,
    AsyncSlackTestClient,
    FakeSlack,
    SlackTestClient,
    slash_command,
)
from django_slack_bolt.testing.client import SlackRequestsMixin

from .apps.async_slack_app import authorize
from .apps.slack_app import BOT_TOKEN
from .async_support import async_test, await_call

SECRET = "async-kit-secret"


class AsyncDispatcher:
    """An AsyncApp with one listener per kind of request, recording what each received."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}
        app = AsyncApp(signing_secret=SECRET, authorize=authorize)
        self.app = app

        @app.command("/deploy")
        async def deploy(ack, command, respond):  # type: ignore[no-untyped-def]
            self.seen["command"] = command
            await ack(f"deploying {command['text']}")
            await respond(f"deployed {command['text']}")

        @app.event("reaction_added")
        async def reaction(event):  # type: ignore[no-untyped-def]
            self.seen["event"] = event

        @app.event("app_mention")
        async def mention(event, say):  # type: ignore[no-untyped-def]
            self.seen["app_mention"] = event
            await say("you called?")

        @app.message("hello")
        async def message(message):  # type: ignore[no-untyped-def]
            self.seen["message"] = message

        @app.action("approve")
        async def approve(ack, body):  # type: ignore[no-untyped-def]
            await ack()
            self.seen["block_action"] = body

        @app.view("feedback")
        async def feedback(ack, view):  # type: ignore[no-untyped-def]
            self.seen["view_submission"] = view
            await ack(response_action="clear")

        @app.shortcut("open_ticket")
        async def open_ticket(ack, shortcut):  # type: ignore[no-untyped-def]
            await ack()
            self.seen["global_shortcut"] = shortcut

        @app.shortcut("save_note")
        async def save_note(ack, shortcut):  # type: ignore[no-untyped-def]
            await ack()
            self.seen["message_shortcut"] = shortcut

        @app.options("pick_repo")
        async def pick_repo(ack, payload):  # type: ignore[no-untyped-def]
            self.seen["options"] = payload
            value = payload["value"]
            await ack(options=[{"text": {"type": "plain_text", "text": value}, "value": value}])


DISPATCHER = AsyncDispatcher()
dispatch_app = DISPATCHER.app


def _reload_urls() -> None:
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    # django_slack_bolt.urls builds its patterns from the configured app when it is imported.
    importlib.reload(package_urls)
    importlib.reload(oauth_urls)
    clear_url_caches()


@pytest.fixture
def async_configured(fake_slack: FakeSlack) -> Iterator[AsyncDispatcher]:
    """SLACK_BOLT["APP"] is the dispatcher's AsyncApp, served by django_slack_bolt.urls; its Web API
    calls go to the fake."""
    DISPATCHER.seen.clear()
    with (
        override_settings(SLACK_BOLT={"APP": f"{__name__}.dispatch_app"}, ROOT_URLCONF="tests.oauth_urls"),
        fake_slack.point_app(dispatch_app),
    ):
        _reload_urls()
        yield DISPATCHER
    _reload_urls()


def test_both_clients_build_their_requests_with_the_same_code():
    assert issubclass(AsyncSlackTestClient, AsyncClient)
    assert issubclass(SlackTestClient, Client)
    for name in (
        "command",
        "event",
        "app_mention",
        "message",
        "block_action",
        "view_submission",
        "global_shortcut",
        "message_shortcut",
        "block_suggestion",
        "url_verification",
        "_fields",
    ):
        shared = getattr(SlackRequestsMixin, name)
        assert getattr(AsyncSlackTestClient, name) is shared
        assert getattr(SlackTestClient, name) is shared
    assert "AsyncSlackTestClient" in dir(django_slack_bolt.testing)
    assert django_slack_bolt.testing.AsyncSlackTestClient is AsyncSlackTestClient


@async_test
async def test_each_request_method_reaches_its_listener_through_the_async_views(async_configured, fake_slack):
    slack = AsyncSlackTestClient(
        user_id="U0BOB", channel_id="C0DEV", team_id="T0OTHER", fake_slack=fake_slack
    )
    assert slack.signing_secret == SECRET  # read from the configured app

    assert (await slack.command("/deploy", "api")).content == b"deploying api"
    reaction = {"type": "reaction_added", "user": "U0BOB", "reaction": "eyes", "item": {"type": "message"}}
    assert (await slack.event(reaction)).status_code == 200
    assert (await slack.app_mention("hi")).status_code == 200
    assert (await slack.message("hello", channel_id="D0BOB")).status_code == 200
    assert (await slack.block_action("approve", "7")).status_code == 200
    assert (await slack.view_submission("feedback", {"b": {"a": "x"}})).json() == {"response_action": "clear"}
    assert (await slack.global_shortcut("open_ticket")).status_code == 200
    assert (await slack.message_shortcut("save_note")).status_code == 200
    assert (await slack.block_suggestion("pick_repo", "dj")).json()["options"][0]["value"] == "dj"
    assert (await slack.url_verification("c-1")).json() == {"challenge": "c-1"}
    assert (await slack.options("/slack/events")).status_code == 200  # still Django's HTTP OPTIONS

    seen = async_configured.seen
    command = seen["command"]
    assert (command["user_id"], command["channel_id"], command["team_id"]) == ("U0BOB", "C0DEV", "T0OTHER")
    assert seen["event"]["reaction"] == "eyes"
    assert (seen["app_mention"]["user"], seen["app_mention"]["channel"]) == ("U0BOB", "C0DEV")
    assert seen["message"]["channel"] == "D0BOB"
    assert seen["block_action"]["user"]["id"] == "U0BOB"
    assert seen["view_submission"]["state"]["values"] == {
        "b": {"a": {"type": "plain_text_input", "value": "x"}}
    }
    assert seen["global_shortcut"]["team"]["id"] == "T0OTHER"
    assert seen["message_shortcut"]["channel"]["id"] == "C0DEV"
    assert seen["options"]["value"] == "dj"
    # The listeners' follow-ups reached the fake: respond() through the command's response URL, say().
    assert (await await_call(fake_slack, RESPONSE_URL_METHOD)).params["text"] == "deployed api"
    assert (await await_call(fake_slack, "chat.postMessage")).params["channel"] == "C0DEV"


@async_test
async def test_unsigned_and_wrongly_signed_requests_are_refused(async_configured, fake_slack):
    slack = AsyncSlackTestClient(fake_slack=fake_slack)
    assert (await slack.command("/deploy", "api", signing_secret=None)).status_code == 401
    assert (await slack.command("/deploy", "api", signing_secret="not-it")).status_code == 401
    assert (await slack.send(slash_command("/deploy", "x", signing_secret=None))).status_code == 401
    signed = slash_command("/deploy", "x", signing_secret=SECRET, response_url=fake_slack.response_url())
    assert (await slack.send(signed, "/slack/events/")).content == b"deploying x"
    assert (await await_call(fake_slack, RESPONSE_URL_METHOD)).params["text"] == "deployed x"


@async_test
async def test_the_async_slack_client_fixture(async_configured, async_slack_client, fake_slack: FakeSlack):
    assert isinstance(async_slack_client, AsyncSlackTestClient)
    assert async_slack_client.app is dispatch_app
    assert async_slack_client.fake_slack is fake_slack

    resp = await async_slack_client.command("/deploy", "web")
    assert (resp.status_code, resp.content) == (200, b"deploying web")
    # Its response URLs are the fake's, and slack_app talks to the fake.
    assert (await await_call(fake_slack, RESPONSE_URL_METHOD)).params["text"] == "deployed web"
    await async_slack_client.app_mention("status?")
    said = await await_call(fake_slack, "chat.postMessage")
    assert (said.params["channel"], said.params["text"], said.token) == (
        DEFAULT_CHANNEL_ID,
        "you called?",
        BOT_TOKEN,
    )
