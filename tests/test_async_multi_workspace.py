"""A multi-workspace AsyncApp made by ``build_async_app()``, end to end through the async views.

Everything comes from ``SLACK_BOLT`` (credentials, scopes, the encryption key, and FakeSlack's authorize
page and Web API as ``AUTHORIZATION_URL`` / ``WEB_API_URL``): no ``point_app``. Requests go through
Django's ``AsyncClient`` (:class:`~django_slack_bolt.testing.AsyncSlackTestClient` for Slack's), so
through the URLconf, the middleware and ``AsyncSlackInstallView`` / ``AsyncSlackOAuthRedirectView`` /
``AsyncSlackEventsView``; the install flow stores its installations and states with the ORM stores'
async methods, and ``AsyncDjangoAuthorize`` reads them back.

Query counts: under ``async_to_sync`` (``async_test``) asgiref runs thread-sensitive code in the test's
thread, but a count that silently missed another thread would make "warm: zero queries" pass for the
wrong reason. :func:`queries_everywhere` records queries on every connection, in whatever thread;
the cold count of exactly one query shows it sees the authorize path.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created
from django.test import override_settings
from django.urls import clear_url_caches
from slack_bolt.async_app import AsyncApp

from django_slack_bolt.models import SlackBot, SlackInstallation, SlackOAuthState
from django_slack_bolt.oauth.app_factory import build_async_app
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.testing import (
    AUTHORIZE_METHOD,
    RESPONSE_URL_METHOD,
    AsyncSlackTestClient,
    FakeSlack,
    RecordedCall,
)

from .async_support import async_test, await_call
from .store_support import raw_rows, token_texts_in

# Transactional: the stores send their signals and invalidate cached authorizations on commit.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    # slack_sdk's AsyncWebClient sends the client credentials with aiohttp's BasicAuth (deprecated in 3.14).
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
]

SIGNING_SECRET = "multi-workspace-signing-secret"
CLIENT_ID = "111.222"
CLIENT_SECRET = "multi-workspace-client-secret"
SCOPES = ["app_mentions:read", "chat:write", "commands"]
REDIRECT_URI = "http://testserver/slack/oauth_redirect"
REFUSED = "no longer available"  # what Bolt tells the user when authorize finds no installation


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    bot_user_id: str
    installer: str


ACME = Team("T0ACME", "Acme", "U0ACMEBOT", "U0ALICE")
GLOBEX = Team("T0GLOBEX", "Globex", "U0GLOBEXBOT", "U0BOB")

# SLACK_BOLT["APP"] of these tests: made by build_async_app() once the settings are in place.
app: AsyncApp | None = None


def _reload_urls() -> None:
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    # django_slack_bolt.urls builds its patterns from the configured app when it is imported.
    importlib.reload(package_urls)
    importlib.reload(oauth_urls)
    clear_url_caches()


def _add_listeners(app: AsyncApp) -> None:
    @app.command("/whoami")
    async def whoami(ack, context):  # type: ignore[no-untyped-def]
        await ack(f"{context.team_id} {context.bot_user_id} {context.bot_token}")

    @app.event("app_mention")
    async def mention(say, context):  # type: ignore[no-untyped-def]
        await say(f"hello {context.team_id}")


@pytest.fixture
def project(fake_slack: FakeSlack) -> Iterator[FakeSlack]:
    """build_async_app() served by django_slack_bolt.urls, FakeSlack as Slack, two workspaces there."""
    global app
    fake_slack.configure_oauth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI, strict_tokens=True
    )
    for team in (ACME, GLOBEX):
        fake_slack.add_workspace(
            team.team_id, team_name=team.name, bot_user_id=team.bot_user_id, installer_user_id=team.installer
        )
    slack_bolt = {
        "APP": f"{__name__}.app",
        "SIGNING_SECRET": SIGNING_SECRET,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "SCOPES": SCOPES,
        "TOKEN_ENCRYPTION_KEYS": [settings.TEST_TOKEN_KEY],
        "AUTHORIZATION_URL": fake_slack.authorize_url,
        "WEB_API_URL": fake_slack.url,
    }
    with override_settings(SLACK_BOLT=slack_bolt, ROOT_URLCONF="tests.oauth_urls"):
        cache.clear()
        app = build_async_app()
        _add_listeners(app)
        _reload_urls()
        try:
            yield fake_slack
        finally:
            app = None
    _reload_urls()
    cache.clear()


@pytest.fixture
def slack(project: FakeSlack) -> AsyncSlackTestClient:
    """Signs with the configured app's secret (read from it), posts to django_slack_bolt:events;
    response URLs on the fake."""
    return AsyncSlackTestClient(fake_slack=project)


# --- helpers -----------------------------------------------------------------------------------------


@dataclass
class Callback:
    """The redirect back from Slack's authorize page: the callback URL, and the state it carries."""

    url: str
    state: str


async def authorize_at_slack(client: AsyncSlackTestClient, team: Team) -> Callback:
    """Open the install page, follow its "Add to Slack" link to the (fake) authorize page, where the
    user picks ``team``; the redirect back to the app, not followed yet."""
    page = await client.get("/slack/install")
    assert page.status_code == 200, page.content
    found = re.search(rb'href="([^"]*/oauth/v2/authorize\?[^"]*)"', page.content)
    assert found is not None, page.content
    link = html.unescape(found.group(1).decode())
    answer = await asyncio.to_thread(
        requests.get, link, params={"team": team.team_id}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.content
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    parts = urlsplit(location)
    state = parse_qs(parts.query)["state"][0]
    assert client.cookies["slack-app-oauth-state"].value == state  # the install page's cookie
    return Callback(url=f"{parts.path}?{parts.query}", state=state)


async def install(client: AsyncSlackTestClient, team: Team) -> None:
    callback = await authorize_at_slack(client, team)
    resp = await client.get(callback.url)
    assert resp.status_code == 200, resp.content
    assert b"installed" in resp.content


def rows(team: Team) -> tuple[int, int]:
    """(installation rows, bot rows) stored for ``team``."""
    return (
        SlackInstallation.objects.filter(team_id=team.team_id).count(),
        SlackBot.objects.filter(team_id=team.team_id).count(),
    )


@asynccontextmanager
async def queries_everywhere() -> AsyncIterator[list[tuple[str, str]]]:
    """The queries run while open: ``(thread name, sql)``, whichever thread runs them.

    Django's execute wrappers, put on the connections already open in the thread that runs
    thread-sensitive sync code (where the ORM's ``sync_to_async`` sends queries) and in the event loop's,
    and on every connection opened meanwhile, in any thread (``connection_created``). Only a query on a
    connection opened earlier in yet another thread could slip by: counting exactly one cold query
    shows the authorize path's are seen.
    """
    log: list[tuple[str, str]] = []
    wrapped: list[Any] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        log.append((threading.current_thread().name, sql))
        return execute(sql, params, many, context)

    def wrap(connection: Any) -> None:
        if record not in connection.execute_wrappers:
            connection.execute_wrappers.append(record)
            wrapped.append(connection)

    def wrap_open_connections() -> None:
        for connection in connections.all(initialized_only=True):
            wrap(connection)

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        wrap(connection)

    connection_created.connect(on_connect)
    wrap_open_connections()
    await sync_to_async(wrap_open_connections)()
    try:
        yield log
    finally:
        connection_created.disconnect(on_connect)
        for connection in wrapped:
            connection.execute_wrappers.remove(record)


def calls_since(fake: FakeSlack, first: int, method: str) -> list[RecordedCall]:
    """The calls to ``method`` among the fake's calls from the ``first``-th on."""
    return [call for call in fake.calls[first:] if call.method == method]


def store_queries(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The queries on the package's tables (the test database's own housekeeping left out)."""
    return [(thread, sql) for thread, sql in log if "django_slack_bolt_" in sql]


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` (sync ORM code: run in the test's thread) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await sync_to_async(condition)():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


# --- the tests ---------------------------------------------------------------------------------------


@async_test
async def test_the_install_flow_stores_each_workspace_with_the_orm_store(project, slack):
    for team in (ACME, GLOBEX):
        await install(slack, team)

    store = DjangoInstallationStore(CLIENT_ID)
    for team in (ACME, GLOBEX):
        installation = await store.async_find_installation(enterprise_id=None, team_id=team.team_id)
        assert installation is not None
        assert (installation.team_name, installation.bot_user_id, installation.user_id) == (
            team.name,
            team.bot_user_id,
            team.installer,
        )
        assert installation.bot_token == project.bot_token(team.team_id)
        assert installation.bot_scopes == SCOPES
    # Encrypted at rest: no token text in the tables.
    assert token_texts_in(await sync_to_async(raw_rows)("default")) == []
    # Each install visited the authorize page once and exchanged its code once.
    assert len(project.calls_to(AUTHORIZE_METHOD)) == 2
    assert len(project.calls_to("oauth.v2.access")) == 2


@async_test
async def test_two_workspaces_are_each_answered_with_their_own_token(project, slack):
    for team in (ACME, GLOBEX):
        await install(slack, team)
    # Bolt's OAuth flow asks auth.test for the bot id once per install; requests never do.
    assert len(project.calls_to("auth.test")) == 2
    installed = len(project.calls)

    for team in (ACME, GLOBEX):
        token = project.bot_token(team.team_id)
        resp = await slack.command("/whoami", team_id=team.team_id, user_id=team.installer)
        assert resp.content.decode() == f"{team.team_id} {team.bot_user_id} {token}"
        resp = await slack.app_mention("hi", team_id=team.team_id, bot_user_id=team.bot_user_id)
        assert resp.status_code == 200
        call = await await_call(project, "chat.postMessage", params={"text": f"hello {team.team_id}"})
        assert call.token == token
    # strict_tokens: every token used was one the fake issued, and none was checked with auth.test.
    assert calls_since(project, installed, "auth.test") == []


@async_test
async def test_authorize_queries_the_database_once_cold_and_never_warm(project, slack):
    await install(slack, ACME)
    await install(slack, GLOBEX)
    installed = len(project.calls)
    cache.clear()

    async with queries_everywhere() as cold:
        first = await slack.command("/whoami", team_id=ACME.team_id, user_id=ACME.installer)
    async with queries_everywhere() as warm:
        second = await slack.command("/whoami", team_id=ACME.team_id, user_id=ACME.installer)
    async with queries_everywhere() as other_team:
        third = await slack.command("/whoami", team_id=GLOBEX.team_id, user_id=GLOBEX.installer)

    token = project.bot_token(ACME.team_id)
    assert first.content == second.content == f"{ACME.team_id} {ACME.bot_user_id} {token}".encode()
    assert third.content.decode().endswith(project.bot_token(GLOBEX.team_id))
    assert len(store_queries(cold)) == 1, store_queries(cold)
    assert "django_slack_bolt_slackinstallation" in store_queries(cold)[0][1]
    assert store_queries(warm) == []
    assert len(store_queries(other_team)) == 1, "another workspace is a cold lookup of its own"
    assert calls_since(project, installed, "auth.test") == []


@async_test
async def test_app_uninstalled_deletes_the_workspaces_rows_and_only_those(project, slack):
    for team in (ACME, GLOBEX):
        await install(slack, team)
    assert await sync_to_async(rows)(ACME) == (1, 1)

    resp = await slack.event({"type": "app_uninstalled"}, team_id=ACME.team_id)
    assert resp.status_code == 200
    await wait_until(lambda: rows(ACME) == (0, 0))

    assert await sync_to_async(rows)(GLOBEX) == (1, 1)
    refused = await slack.command("/whoami", team_id=ACME.team_id, user_id=ACME.installer)
    assert (refused.status_code, refused.content) == (200, b"")  # Bolt tells the user through respond()
    assert REFUSED in (await await_call(project, RESPONSE_URL_METHOD)).params["text"]
    answered = await slack.command("/whoami", team_id=GLOBEX.team_id, user_id=GLOBEX.installer)
    assert answered.content.decode().endswith(project.bot_token(GLOBEX.team_id))


@async_test
async def test_an_oauth_state_is_consumed_once(project, slack):
    callback = await authorize_at_slack(slack, ACME)
    assert await SlackOAuthState.objects.filter(state=callback.state).aexists()

    first = await slack.get(callback.url)
    assert first.status_code == 200, first.content
    assert not await SlackOAuthState.objects.filter(state=callback.state).aexists()
    cleared = first.cookies["slack-app-oauth-state"]
    assert (cleared.value, cleared["expires"]) == ("deleted", "Thu, 01 Jan 1970 00:00:00 GMT")

    # The same redirect again (with the cookie put back, as a replaying attacker would): refused
    # before the code is exchanged a second time.
    slack.cookies["slack-app-oauth-state"] = callback.state
    replay = await slack.get(callback.url)
    assert replay.status_code == 401, replay.content
    assert b"expired or was already used" in replay.content
    assert b"invalid_state" in replay.content
    assert len(project.calls_to("oauth.v2.access")) == 1
    assert await SlackInstallation.objects.filter(team_id=ACME.team_id).acount() == 1
