"""FakeSlack's OAuth side: the authorize page, oauth.v2.access, token rotation and per-token auth.

Driven over real HTTP (slack_sdk's WebClient, requests for the browser's redirect) and through a whole
Bolt install flow served by Django's test client.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.http import HttpRequest, HttpResponse
from django.test import Client
from slack_bolt import App
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import (
    AUTHORIZE_METHOD,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    FakeSlack,
    FakeWorkspace,
    slash_command,
)

from .support import SIGNING_SECRET

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

CLIENT_ID = "111.222"
CLIENT_SECRET = "client-secret"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def web(fake: FakeSlack) -> WebClient:
    """A Web API client of the fake, without a token of its own."""
    return WebClient(base_url=fake.url)


def authorize(
    fake: FakeSlack,
    *,
    client_id: str = CLIENT_ID,
    scope: str = "commands,chat:write",
    user_scope: str = "",
    state: str = "s1",
    redirect_uri: str | None = "https://app.example/slack/oauth_redirect",
    **extra: str,
) -> requests.Response:
    """What the browser does with the install page's link: GET the authorize page, do not follow."""
    params = {"client_id": client_id, "scope": scope, "user_scope": user_scope, "state": state, **extra}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    return requests.get(fake.authorize_url, params=params, allow_redirects=False, timeout=5)


def query(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def exchange(fake: FakeSlack, code: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("client_id", CLIENT_ID)
    kwargs.setdefault("client_secret", CLIENT_SECRET)
    kwargs.setdefault("redirect_uri", "https://app.example/slack/oauth_redirect")
    return dict(WebClient(base_url=fake.url).oauth_v2_access(code=code, **kwargs).data)  # type: ignore[arg-type]


def install(fake: FakeSlack, **kwargs: Any) -> dict[str, Any]:
    """A whole install at the HTTP level: authorize, then exchange the code."""
    scopes = {name: kwargs.pop(name) for name in ("scope", "user_scope", "team") if name in kwargs}
    location = authorize(fake, **scopes).headers["Location"]
    return exchange(fake, query(location)["code"], **kwargs)


def slack_error(call: Callable[[], object]) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


# -- the authorize page ----------------------------------------------------------------------------


def test_authorize_redirects_back_with_a_code_and_the_state(fake: FakeSlack) -> None:
    acme = fake.add_workspace("T1", team_name="Acme")

    response = authorize(fake, state="xyz", redirect_uri="https://app.example/cb?keep=1")

    assert fake.authorize_url == f"{fake.root_url}oauth/v2/authorize"
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://app.example/cb?")
    reply = query(location)
    assert reply["keep"] == "1"
    assert reply["state"] == "xyz"
    assert reply["code"]
    call = fake.last_call(AUTHORIZE_METHOD)
    assert (call.status, call.path, call.params["scope"]) == (
        302,
        "/oauth/v2/authorize",
        "commands,chat:write",
    )
    assert call.response == {"location": location, "team": acme.id, "code": reply["code"], "state": "xyz"}


def test_authorize_picks_the_workspace_by_team_or_the_default(fake: FakeSlack) -> None:
    fake.add_workspace("T1")
    fake.add_workspace("T2")

    assert authorize(fake).status_code == 302
    assert fake.last_call(AUTHORIZE_METHOD).response["team"] == "T1"  # the first added
    assert authorize(fake, team="T2").status_code == 302
    assert fake.last_call(AUTHORIZE_METHOD).response["team"] == "T2"
    fake.set_default_workspace("T2")
    authorize(fake)
    assert fake.last_call(AUTHORIZE_METHOD).response["team"] == "T2"
    assert fake.default_workspace is fake.get_workspace("T2")


def test_authorize_without_workspaces_installs_into_the_fakes_own_workspace(fake: FakeSlack) -> None:
    answer = install(fake)

    assert answer["team"] == {"id": DEFAULT_TEAM_ID, "name": "Fake Workspace"}
    assert answer["bot_user_id"] == DEFAULT_BOT_USER_ID
    assert answer["authed_user"] == {"id": DEFAULT_USER_ID}
    auth = WebClient(base_url=fake.url).auth_test(token=answer["access_token"])
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == (
        DEFAULT_TEAM_ID,
        DEFAULT_BOT_USER_ID,
        DEFAULT_BOT_ID,
    )
    assert [w.id for w in fake.workspaces] == [DEFAULT_TEAM_ID]


def test_a_cancelled_authorization_redirects_with_access_denied(fake: FakeSlack) -> None:
    fake.deny_authorization()

    denied = authorize(fake, state="s9")
    allowed = authorize(fake)  # only the next visit is denied

    assert denied.status_code == 302
    assert query(denied.headers["Location"]) == {"error": "access_denied", "state": "s9"}
    assert "code" in query(allowed.headers["Location"])


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({"client_id": "999.999"}, "invalid_client_id", id="another-app"),
        pytest.param({"redirect_uri": None}, "bad_redirect_uri", id="nowhere-to-go"),
        pytest.param({"scope": ""}, "invalid_scope", id="no-scopes"),
        pytest.param({"team": "T404"}, "team_not_found", id="unknown-team"),
    ],
)
def test_authorize_refuses_what_slack_refuses(fake: FakeSlack, params: dict[str, Any], error: str) -> None:
    fake.add_workspace("T1")

    response = authorize(fake, **params)

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": error}
    assert fake.last_call(AUTHORIZE_METHOD).status == 400


def test_authorize_uses_the_configured_redirect_uri_when_the_url_has_none(fake: FakeSlack) -> None:
    fake.configure_oauth(redirect_uri="https://app.example/default")

    response = authorize(fake, redirect_uri=None)

    assert response.headers["Location"].startswith("https://app.example/default?code=")
    assert exchange(fake, query(response.headers["Location"])["code"], redirect_uri=None)["ok"] is True


# -- oauth.v2.access: the code exchange ------------------------------------------------------------


def test_code_exchange_answers_what_slack_answers(fake: FakeSlack) -> None:
    acme = fake.add_workspace(
        "T1", team_name="Acme", bot_user_id="UBOT1", bot_id="BBOT1", installer_user_id="U1"
    )

    answer = install(fake, scope="commands,chat:write,incoming-webhook", user_scope="search:read")

    bot_token, user_token = answer["access_token"], answer["authed_user"]["access_token"]
    webhook = answer.pop("incoming_webhook")
    assert answer == {
        "ok": True,
        "app_id": fake.api_app_id,
        "authed_user": {"id": "U1", "scope": "search:read", "access_token": user_token, "token_type": "user"},
        "scope": "commands,chat:write,incoming-webhook",
        "token_type": "bot",
        "access_token": bot_token,
        "bot_user_id": "UBOT1",
        "team": {"id": "T1", "name": "Acme"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    assert bot_token.startswith("xoxb-")
    assert user_token.startswith("xoxp-")
    assert (webhook["channel"], webhook["channel_id"]) == (acme.webhook_channel, acme.webhook_channel_id)
    assert webhook["url"].startswith(f"{fake.root_url}hooks/")
    assert (fake.bot_token("T1"), fake.user_token("T1")) == (bot_token, user_token)
    assert fake.token_info(bot_token).scopes == ("commands", "chat:write", "incoming-webhook")  # type: ignore[union-attr]


def test_user_only_install_has_no_bot_token(fake: FakeSlack) -> None:
    fake.add_workspace("T1", installer_user_id="U7")

    answer = install(fake, scope="", user_scope="search:read,users:read")

    assert "access_token" not in answer
    assert answer["authed_user"]["id"] == "U7"
    assert answer["authed_user"]["scope"] == "search:read,users:read"
    with pytest.raises(AssertionError, match="no active bot token"):
        fake.bot_token("T1")


def test_auth_test_answers_per_token(fake: FakeSlack, web: WebClient) -> None:
    fake.add_workspace("T1", team_name="Acme", bot_user_id="UB1", bot_id="BB1", installer_user_id="U1")
    fake.add_workspace("T2", team_name="Beta", bot_user_id="UB2", bot_id="BB2", installer_user_id="U2")
    one = install(fake, team="T1", user_scope="search:read")
    two = install(fake, team="T2")

    bot_one = web.auth_test(token=one["access_token"])
    user_one = web.auth_test(token=one["authed_user"]["access_token"])
    bot_two = web.auth_test(token=two["access_token"])
    default = web.auth_test(token="xoxb-not-from-the-fake")

    assert one["access_token"] != two["access_token"]
    assert (bot_one["team_id"], bot_one["team"], bot_one["user_id"], bot_one["bot_id"]) == (
        "T1",
        "Acme",
        "UB1",
        "BB1",
    )
    assert (user_one["team_id"], user_one["user_id"], "bot_id" in user_one.data) == ("T1", "U1", False)
    assert (bot_two["team_id"], bot_two["user_id"], bot_two["bot_id"]) == ("T2", "UB2", "BB2")
    assert bot_two["url"] == "https://t2.slack.com/"
    assert (default["team_id"], default["user_id"]) == (DEFAULT_TEAM_ID, DEFAULT_BOT_USER_ID)  # as before


def test_a_code_works_once_and_only_for_its_app(fake: FakeSlack) -> None:
    code = query(authorize(fake).headers["Location"])["code"]

    assert slack_error(lambda: exchange(fake, code, client_id="999.999")) == "invalid_client_id"
    assert slack_error(lambda: exchange(fake, code, client_secret="wrong")) == "bad_client_secret"
    assert (
        slack_error(lambda: exchange(fake, code, redirect_uri="https://evil.example/")) == "bad_redirect_uri"
    )
    assert exchange(fake, code)["ok"] is True  # refused attempts did not use the code up
    assert slack_error(lambda: exchange(fake, code)) == "invalid_code"
    assert slack_error(lambda: exchange(fake, "made-up")) == "invalid_code"
    assert [call.response["ok"] for call in fake.calls_to("oauth.v2.access")] == [
        False,
        False,
        False,
        True,
        False,
        False,
    ]


def test_client_credentials_may_come_as_form_fields(fake: FakeSlack) -> None:
    code = query(authorize(fake).headers["Location"])["code"]
    form = {"code": code, "redirect_uri": "https://app.example/slack/oauth_redirect", "client_id": CLIENT_ID}

    wrong = requests.post(fake.url + "oauth.v2.access", data={**form, "client_secret": "nope"}, timeout=5)
    right = requests.post(
        fake.url + "oauth.v2.access", data={**form, "client_secret": CLIENT_SECRET}, timeout=5
    )
    bogus = requests.post(fake.url + "oauth.v2.access", data={**form, "grant_type": "password"}, timeout=5)

    assert wrong.json() == {"ok": False, "error": "bad_client_secret"}
    assert right.json()["ok"] is True
    assert right.json()["access_token"] == fake.bot_token()
    assert bogus.json() == {"ok": False, "error": "bad_client_secret"}  # credentials are checked first


def test_unknown_grant_type(fake: FakeSlack, web: WebClient) -> None:
    assert (
        slack_error(
            lambda: web.oauth_v2_access(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, grant_type="password"
            )
        )
        == "invalid_grant_type"
    )


def test_a_fake_without_client_credentials_accepts_any_app() -> None:
    with FakeSlack() as fake:
        code = query(
            requests.get(
                fake.authorize_url,
                params={"client_id": "any.app", "scope": "chat:write", "redirect_uri": "https://x.example/"},
                allow_redirects=False,
                timeout=5,
            ).headers["Location"]
        )["code"]
        answer = WebClient(base_url=fake.url).oauth_v2_access(
            client_id="any.app", client_secret="whatever", code=code, redirect_uri="https://x.example/"
        )
    assert answer["access_token"] == fake.tokens()[0].token


def test_reinstalling_keeps_the_bot_token_and_adds_scopes(fake: FakeSlack) -> None:
    first = install(fake, scope="commands")
    second = install(fake, scope="chat:write")

    assert second["access_token"] == first["access_token"]
    assert second["scope"] == "commands,chat:write"
    assert len(fake.tokens(kind="bot")) == 1


def test_enterprise_install_has_no_team(fake: FakeSlack, web: WebClient) -> None:
    org = fake.add_workspace(
        enterprise_id="E1",
        enterprise_name="Org",
        is_enterprise_install=True,
        bot_user_id="UORG",
        bot_id="BORG",
    )
    grid_team = fake.add_workspace("T9", enterprise_id="E1", enterprise_name="Org")

    answer = install(fake, team="E1")
    in_grid = install(fake, team="T9")

    assert org.team_id is None
    assert org.id == "E1"
    assert (answer["team"], answer["enterprise"], answer["is_enterprise_install"]) == (
        None,
        {"id": "E1", "name": "Org"},
        True,
    )
    auth = web.auth_test(token=answer["access_token"])
    assert (auth["enterprise_id"], auth["is_enterprise_install"], auth["bot_id"]) == ("E1", True, "BORG")
    assert auth["url"] == "https://e1.enterprise.slack.com/"
    assert (in_grid["team"]["id"], in_grid["enterprise"]["id"], in_grid["is_enterprise_install"]) == (
        "T9",
        "E1",
        False,
    )
    assert grid_team.enterprise_id == "E1"
    with pytest.raises(ValueError, match="needs an enterprise_id"):
        fake.add_workspace(is_enterprise_install=True)
    with pytest.raises(ValueError, match="already has a workspace T9"):
        fake.add_workspace("T9")


# -- token rotation --------------------------------------------------------------------------------


def refresh(fake: FakeSlack, refresh_token: str) -> dict[str, Any]:
    return dict(
        WebClient(base_url=fake.url)
        .oauth_v2_access(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=refresh_token,
        )
        .data  # type: ignore[arg-type]
    )


def test_rotation_issues_expiring_tokens_with_refresh_tokens(fake: FakeSlack) -> None:
    fake.configure_oauth(token_rotation=True, token_expires_in=3600)
    fake.add_workspace("T1")

    answer = install(fake, user_scope="search:read")

    assert answer["access_token"].startswith("xoxe.xoxb-1-")
    assert answer["refresh_token"].startswith("xoxe-1-")
    assert answer["expires_in"] == 3600
    user = answer["authed_user"]
    assert user["access_token"].startswith("xoxe.xoxp-1-")
    assert user["refresh_token"].startswith("xoxe-1-")
    assert user["expires_in"] == 3600
    info = fake.token_info(answer["access_token"])
    assert info is not None
    assert info.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert info.refresh_token == answer["refresh_token"]


def test_rotation_can_be_chosen_per_workspace(fake: FakeSlack) -> None:
    fake.add_workspace("T1", token_rotation=True)
    fake.add_workspace("T2")

    assert install(fake, team="T1")["access_token"].startswith("xoxe.xoxb-")
    assert "refresh_token" not in install(fake, team="T2")


def test_a_refresh_token_works_once(fake: FakeSlack, web: WebClient) -> None:
    fake.configure_oauth(token_rotation=True)
    fake.add_workspace("T1", bot_user_id="UB1")
    installed = install(fake)

    refreshed = refresh(fake, installed["refresh_token"])
    replayed = slack_error(lambda: refresh(fake, installed["refresh_token"]))
    again = refresh(fake, refreshed["refresh_token"])

    assert replayed == "invalid_refresh_token"
    assert refreshed == {
        "ok": True,
        "app_id": fake.api_app_id,
        "access_token": refreshed["access_token"],
        "expires_in": 43200,
        "refresh_token": refreshed["refresh_token"],
        "token_type": "bot",
        "scope": "commands,chat:write",
        "bot_user_id": "UB1",
        "team": {"id": "T1", "name": "Workspace T1"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    tokens = {installed["access_token"], refreshed["access_token"], again["access_token"]}
    assert len(tokens) == 3
    assert fake.refresh_count == 2
    assert fake.bot_token("T1") == again["access_token"]
    # The older access tokens keep working until they expire.
    assert web.auth_test(token=installed["access_token"])["user_id"] == "UB1"
    assert slack_error(lambda: refresh(fake, "xoxe-1-made-up")) == "invalid_refresh_token"


def test_user_tokens_refresh_as_user_tokens(fake: FakeSlack) -> None:
    fake.configure_oauth(token_rotation=True)
    installed = install(fake, scope="", user_scope="search:read")

    refreshed = refresh(fake, installed["authed_user"]["refresh_token"])

    assert (refreshed["token_type"], refreshed["scope"]) == ("user", "search:read")
    assert refreshed["access_token"].startswith("xoxe.xoxp-1-")
    assert "bot_user_id" not in refreshed
    assert fake.user_token() == refreshed["access_token"]


def test_concurrent_refreshes_with_one_refresh_token_one_wins(fake: FakeSlack) -> None:
    """What two processes refreshing the same installation at once see: the race a lock must prevent."""
    fake.configure_oauth(token_rotation=True)
    refresh_token = install(fake)["refresh_token"]
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def racer() -> None:
        start.wait()
        try:
            outcomes.append(refresh(fake, refresh_token)["access_token"])
        except SlackApiError as error:
            outcomes.append(error.response["error"])

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=lambda outcome: outcome == "invalid_refresh_token") == [
        fake.bot_token(),
        *["invalid_refresh_token"] * 7,
    ]
    assert fake.refresh_count == 1
    assert len(fake.calls_to("oauth.v2.access", {"grant_type": "refresh_token"})) == 8


# -- revoked, expired and unknown tokens -----------------------------------------------------------


def test_revoked_and_expired_tokens_are_refused(fake: FakeSlack, web: WebClient) -> None:
    fake.configure_oauth(token_rotation=True)
    fake.add_workspace("T1")
    fake.add_workspace("T2")
    one, two = install(fake, team="T1"), install(fake, team="T2")

    assert web.auth_revoke(token=one["access_token"], test=True)["revoked"] is False
    assert web.auth_test(token=one["access_token"])["ok"] is True
    assert web.auth_revoke(token=one["access_token"]).data == {"ok": True, "revoked": True}
    fake.expire_token(two["access_token"])

    assert slack_error(lambda: web.auth_test(token=one["access_token"])) == "token_revoked"
    assert slack_error(lambda: web.chat_postMessage(token=one["access_token"], channel="C1", text="x")) == (
        "token_revoked"
    )
    assert slack_error(lambda: refresh(fake, one["refresh_token"])) == "invalid_refresh_token"
    assert slack_error(lambda: web.auth_test(token=two["access_token"])) == "token_expired"
    assert fake.token_info(two["access_token"]).status == "expired"  # type: ignore[union-attr]
    # An expired token's refresh token is how the app recovers.
    assert web.auth_test(token=refresh(fake, two["refresh_token"])["access_token"])["team_id"] == "T2"
    with pytest.raises(AssertionError, match="no active bot token"):
        fake.bot_token("T1")
    assert web.chat_postMessage(token="xoxb-not-from-the-fake", channel="C1", text="x")["ok"] is True


def test_revoke_token_from_the_test(fake: FakeSlack, web: WebClient) -> None:
    token = fake.issue_token().token

    fake.revoke_token(token)

    assert slack_error(lambda: web.auth_test(token=token)) == "token_revoked"
    assert [info.status for info in fake.tokens()] == ["revoked"]
    with pytest.raises(ValueError, match="did not issue"):
        fake.expire_token("xoxb-other")


def test_refused_tokens_use_up_no_scripted_answer(fake: FakeSlack, web: WebClient) -> None:
    token = fake.issue_token().token
    fake.expire_token(token)
    fake.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"}, times=1)

    assert slack_error(lambda: web.chat_postMessage(token=token, channel="C1", text="x")) == "token_expired"
    assert slack_error(lambda: web.chat_postMessage(token="xoxb-1", channel="C1", text="x")) == (
        "channel_not_found"
    )


def test_strict_tokens_refuse_tokens_the_fake_did_not_issue() -> None:
    with FakeSlack(strict_tokens=True) as fake:
        client = WebClient(base_url=fake.url)
        issued = fake.issue_token(scopes=["chat:write"])

        assert slack_error(lambda: client.auth_test(token="xoxb-made-up")) == "invalid_auth"
        assert slack_error(lambda: client.chat_postMessage(channel="C1", text="x")) == "not_authed"
        assert client.chat_postMessage(token=issued.token, channel="C1", text="x")["ok"] is True
        assert client.api_test()["ok"] is True  # needs no token


def test_issue_token_seeds_tokens_without_the_flow(fake: FakeSlack) -> None:
    workspace = fake.add_workspace("T1", installer_user_id="U1")

    bot = fake.issue_token(workspace, scopes=["chat:write"], token_rotation=True)
    user = fake.issue_token("T1", kind="user", scopes=["search:read"])

    assert (bot.kind, bot.user_id, bot.status, bot.workspace) == (
        "bot",
        workspace.bot_user_id,
        "active",
        workspace,
    )
    assert bot.token.startswith("xoxe.xoxb-1-T1-")
    assert bot.refresh_token is not None
    assert refresh(fake, bot.refresh_token)["token_type"] == "bot"
    assert (user.kind, user.user_id, user.refresh_token, user.expires_at) == ("user", "U1", None, None)
    assert user.token.startswith("xoxp-T1-U1-")
    assert [token.kind for token in fake.tokens("T1")] == ["bot", "user", "bot"]
    assert [token.kind for token in fake.tokens(workspace, kind="user")] == ["user"]


def test_reset_forgets_workspaces_tokens_and_oauth_changes() -> None:
    with FakeSlack(client_id=CLIENT_ID) as fake:
        fake.add_workspace("T1")
        token = fake.issue_token("T1").token
        fake.configure_oauth(client_id="other", token_rotation=True)
        fake.deny_authorization()

        fake.reset()

        assert fake.workspaces == []
        assert fake.tokens() == []
        assert fake.token_info(token) is None
        assert fake.refresh_count == 0
        assert (fake.oauth_config.client_id, fake.oauth_config.token_rotation) == (CLIENT_ID, False)
        assert "code" in query(authorize(fake).headers["Location"])  # the denial is gone too


def test_workspace_dataclass_is_typed_and_frozen(fake: FakeSlack) -> None:
    workspace = fake.add_workspace(team_name="Auto")

    assert isinstance(workspace, FakeWorkspace)
    assert workspace.team_id == "T0W000001"
    assert workspace.team_domain == "t0w000001"
    with pytest.raises(AttributeError):
        workspace.team_id = "T2"  # type: ignore[misc]


# -- point_app -------------------------------------------------------------------------------------


def oauth_app(tmp_path: Path, **settings: Any) -> App:
    settings.setdefault("client_id", CLIENT_ID)
    settings.setdefault("client_secret", CLIENT_SECRET)
    settings.setdefault("scopes", ["commands", "chat:write"])
    return App(
        signing_secret=SIGNING_SECRET,
        oauth_settings=OAuthSettings(
            installation_store=FileInstallationStore(base_dir=str(tmp_path / "installations")),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
            **settings,
        ),
    )


def test_point_app_points_the_oauth_flow_and_the_token_rotator(fake: FakeSlack, tmp_path: Path) -> None:
    app = oauth_app(tmp_path)
    flow = app.oauth_flow
    assert flow is not None
    rotator = flow.settings.authorize.token_rotator  # type: ignore[attr-defined]
    originals = (app.client.base_url, rotator.client.base_url, flow.settings.authorization_url)

    with fake.point_app(app):
        assert flow.client.base_url == rotator.client.base_url == fake.url
        assert flow.settings.authorize_url_generator.generate("st").startswith(
            fake.authorize_url + "?state=st"
        )
        assert flow.settings.authorization_url == fake.authorize_url

    assert (app.client.base_url, rotator.client.base_url, flow.settings.authorization_url) == originals
    assert flow.settings.authorize_url_generator.authorization_url == "https://slack.com/oauth/v2/authorize"


def test_point_app_points_an_oauth_flows_own_client(fake: FakeSlack, tmp_path: Path) -> None:
    flow = OAuthFlow(
        client=WebClient(),
        settings=OAuthSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes=["chat:write"],
            installation_store=FileInstallationStore(base_dir=str(tmp_path)),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
        ),
    )
    app = App(signing_secret=SIGNING_SECRET, oauth_flow=flow)
    assert flow.client is not app.client

    with fake.point_app(app):
        assert flow.client.base_url == fake.url
    assert flow.client.base_url == "https://slack.com/api/"


# -- a whole Bolt install through Django -----------------------------------------------------------


class Site:
    """A Bolt OAuth app served by SlackRequestHandler at URLs of the test URLconf."""

    def __init__(
        self, serve: Callable[[Callable[[HttpRequest], HttpResponse]], str], app_factory: Any
    ) -> None:
        self.install_path = serve(self._handle)
        self.redirect_path = serve(self._handle)
        self.events_path = serve(self._handle)
        self.app: App = app_factory(self.install_path, self.redirect_path)
        self.handler = SlackRequestHandler(self.app)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        return self.handler.handle(request)

    @property
    def store(self) -> FileInstallationStore:
        return self.app.installation_store  # type: ignore[return-value]

    def install(
        self, client: Client, team: str | None = None
    ) -> tuple[_MonkeyPatchedWSGIResponse, requests.Response]:
        """Click "Add to Slack" on the install page, approve on the fake, land on the callback."""
        page = client.get(self.install_path, {"team": team} if team else {})
        assert page.status_code == 200
        link = re.search(r'<a href="([^"]+)"', page.content.decode())
        assert link is not None
        at_slack = requests.get(html.unescape(link.group(1)), allow_redirects=False, timeout=5)
        assert at_slack.status_code == 302
        return client.get(at_slack.headers["Location"]), at_slack


@pytest.fixture
def site(
    serve: Callable[[Callable[[HttpRequest], HttpResponse]], str], tmp_path: Path, fake: FakeSlack
) -> Iterator[Site]:
    def make(install_path: str, redirect_path: str) -> App:
        app = oauth_app(
            tmp_path,
            user_scopes=["search:read"],
            install_path=install_path,
            redirect_uri_path=redirect_path,
            redirect_uri=f"http://testserver{redirect_path}",
        )

        @app.command("/whoami")
        def whoami(ack: Any, context: Any) -> None:
            ack(f"{context.team_id} {context.bot_user_id} {context.bot_token}")

        return app

    built = Site(serve, make)
    with fake.point_app(built.app):
        yield built


def test_bolt_install_flow_runs_offline(site: Site, fake: FakeSlack, client: Client) -> None:
    fake.add_workspace("T1", team_name="Acme", bot_user_id="UB1", bot_id="BB1", installer_user_id="U1")
    fake.add_workspace("T2", team_name="Beta", bot_user_id="UB2", bot_id="BB2", installer_user_id="U2")

    first, at_slack = site.install(client)
    second, _ = site.install(client, team="T2")

    assert at_slack.headers["Location"].startswith(f"http://testserver{site.redirect_path}?code=")
    assert (first.status_code, second.status_code) == (200, 200)
    assert b"Thank you!" in first.content
    one = site.store.find_installation(enterprise_id=None, team_id="T1")
    two = site.store.find_installation(enterprise_id=None, team_id="T2")
    assert one is not None
    assert two is not None
    assert (one.team_name, one.bot_id, one.bot_user_id, one.user_id) == ("Acme", "BB1", "UB1", "U1")
    assert (one.bot_token, one.user_token) == (fake.bot_token("T1"), fake.user_token("T1"))
    assert (two.bot_token, two.user_token) == (fake.bot_token("T2"), fake.user_token("T2"))
    assert len({one.bot_token, two.bot_token, one.user_token, two.user_token}) == 4
    assert (one.bot_scopes, one.user_scopes, one.app_id) == (
        ["commands", "chat:write"],
        ["search:read"],
        fake.api_app_id,
    )
    assert [call.params["redirect_uri"] for call in fake.calls_to("oauth.v2.access")] == [
        f"http://testserver{site.redirect_path}"
    ] * 2
    assert [call.response["team"] for call in fake.calls_to(AUTHORIZE_METHOD)] == ["T1", "T2"]

    # Requests from each workspace are authorized with its own installation (auth.test on the fake).
    for team_id, bot_user_id, token in (("T1", "UB1", one.bot_token), ("T2", "UB2", two.bot_token)):
        response = slash_command("/whoami", team_id=team_id, signing_secret=SIGNING_SECRET).post(
            client, site.events_path
        )
        assert response.content.decode() == f"{team_id} {bot_user_id} {token}"


def test_bolt_shows_the_failure_page_when_the_user_cancels(
    site: Site, fake: FakeSlack, client: Client
) -> None:
    fake.deny_authorization()

    callback, at_slack = site.install(client)

    assert query(at_slack.headers["Location"])["error"] == "access_denied"
    assert b"access_denied" in callback.content
    assert fake.calls_to("oauth.v2.access") == []


def test_bolt_refreshes_expiring_tokens_on_the_fake(site: Site, fake: FakeSlack, client: Client) -> None:
    """Bolt refreshes tokens that expire within two hours: a one-minute lifetime refreshes at once."""
    fake.configure_oauth(token_rotation=True, token_expires_in=60)
    fake.add_workspace("T1", bot_user_id="UB1")
    site.install(client)
    installed = site.store.find_installation(enterprise_id=None, team_id="T1")
    assert installed is not None
    assert installed.bot_token is not None
    assert installed.bot_token.startswith("xoxe.xoxb-1-")

    response = slash_command("/whoami", team_id="T1", signing_secret=SIGNING_SECRET).post(
        client, site.events_path
    )

    assert fake.refresh_count == 2  # the bot and the installer's user token
    new_bot_token = fake.bot_token("T1")
    assert new_bot_token != installed.bot_token
    assert response.content.decode() == f"T1 UB1 {new_bot_token}"
    stored = site.store.find_installation(enterprise_id=None, team_id="T1")
    assert stored is not None
    assert (stored.bot_token, stored.user_token) == (new_bot_token, fake.user_token("T1"))

    # A second process still holding the old installation refreshes with a used-up refresh token.
    stale = TokenRotator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, client=WebClient(base_url=fake.url)
    )
    with pytest.raises(SlackTokenRotationError) as failed:
        stale.perform_token_rotation(installation=Installation(**installed.to_dict_for_copying()))
    assert failed.value.api_error.response["error"] == "invalid_refresh_token"
    assert fake.refresh_count == 2
