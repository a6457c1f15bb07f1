"""Uninstalls and token revocations, end to end: an app made by ``build_app()``, signed events posted
through Django's full request path, Bolt's revocation listeners deleting rows in their own threads.

Transactional tests: the listeners write from Bolt's threads, and the store sends its signals and
invalidates cached authorizations on commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from slack_bolt import App, BoltContext, Say
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.models import SlackBot, SlackInstallation
from django_slack_bolt.oauth import authorization_cache
from django_slack_bolt.oauth.app_factory import build_app
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.signals import installation_deleted
from django_slack_bolt.testing import FakeSlack, SlackRequest, app_mention, event

pytestmark = pytest.mark.django_db(transaction=True)

SIGNING_SECRET = "lifecycle-signing-secret"
CLIENT_ID = "111.222"
BOT_USER_ID = "U0BOT"
REFUSED = "no longer available"  # Bolt's answer when authorize finds no installation


@dataclass(frozen=True)
class Workspace:
    """A workspace (or an org-wide install) as stored, and as its events name it."""

    name: str
    enterprise_id: str | None
    team_id: str | None
    users: tuple[str, ...]
    bot_token: str
    is_enterprise_install: bool = False
    envelope: dict[str, Any] = field(default_factory=dict)

    def user_token(self, user_id: str) -> str:
        return f"xoxp-{self.name}-{user_id}"

    def installations(self) -> list[Installation]:
        return [
            Installation(
                app_id="A0APP",
                enterprise_id=self.enterprise_id,
                enterprise_name=f"{self.name} org" if self.enterprise_id else None,
                team_id=self.team_id,
                team_name=self.name if self.team_id else None,
                bot_token=self.bot_token,
                bot_id="B0BOT",
                bot_user_id=BOT_USER_ID,
                bot_scopes=["app_mentions:read", "chat:write"],
                user_id=user_id,
                user_token=self.user_token(user_id),
                user_scopes=["search:read"],
                is_enterprise_install=self.is_enterprise_install,
                installed_at=1_700_000_000.0 + position,
            )
            for position, user_id in enumerate(self.users)
        ]

    def stored(self) -> tuple[list[str], int]:
        """The installers with rows in this workspace, and its number of bot rows."""
        users = SlackInstallation.objects.filter(enterprise_id=self.enterprise_id, team_id=self.team_id)
        bots = SlackBot.objects.filter(enterprise_id=self.enterprise_id, team_id=self.team_id)
        return sorted(users.values_list("user_id", flat=True)), bots.count()

    def event(self, inner: dict[str, Any]) -> SlackRequest:
        return event(inner, signing_secret=SIGNING_SECRET, bot_user_id=BOT_USER_ID, **self.envelope)

    def mention(self, user_id: str) -> SlackRequest:
        return app_mention(
            "hi", signing_secret=SIGNING_SECRET, user_id=user_id, bot_user_id=BOT_USER_ID, **self.envelope
        )

    def cached(self, user_id: str) -> Any:
        """The authorization cached for ``user_id``'s requests here (None when there is none)."""
        lookup_team = None if self.is_enterprise_install else self.team_id
        return authorization_cache.lookup(CLIENT_ID, self.enterprise_id, lookup_team, user_id, False).result


def org_authorizations(enterprise_id: str, team_id: str | None) -> list[dict[str, Any]]:
    return [
        {
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "user_id": BOT_USER_ID,
            "is_bot": True,
            "is_enterprise_install": True,
        }
    ]


ACME = Workspace("acme", None, "T1", ("U1", "U2"), "xoxb-acme", envelope={"team_id": "T1"})
# An org-wide install: stored with team None; its events come from one of the org's workspaces (T9).
UMBRELLA = Workspace(
    "umbrella",
    "E2",
    None,
    ("U4", "U5"),
    "xoxb-umbrella",
    is_enterprise_install=True,
    envelope={
        "team_id": "T9",
        "enterprise_id": "E2",
        "is_enterprise_install": True,
        "authorizations": org_authorizations("E2", None),
    },
)
# Untouched by every test: a plain workspace, and a workspace of the same org installed on its own.
GLOBEX = Workspace("globex", None, "T2", ("U3",), "xoxb-globex", envelope={"team_id": "T2"})
INITECH = Workspace(
    "initech", "E2", "T3", ("U6",), "xoxb-initech", envelope={"team_id": "T3", "enterprise_id": "E2"}
)
ALL = (ACME, UMBRELLA, GLOBEX, INITECH)

REVOKED = [pytest.param(ACME, id="workspace"), pytest.param(UMBRELLA, id="org-wide")]


@dataclass
class Recorder:
    """Calls from other threads (signals, listeners), with a wait for the n-th one."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, **kwargs: Any) -> None:
        with self.changed:
            self.calls.append(kwargs)
            self.changed.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.calls) >= count, timeout=timeout):
                raise AssertionError(f"waited for {count} call(s), got {self.calls}")
            return list(self.calls)


@pytest.fixture
def deletions() -> Iterator[Recorder]:
    recorder = Recorder()

    def receiver(sender: Any, signal: Any, **kwargs: Any) -> None:
        recorder.record(sender=sender, **kwargs)

    installation_deleted.connect(receiver)
    yield recorder
    installation_deleted.disconnect(receiver)


@pytest.fixture
def mentions() -> Recorder:
    return Recorder()


@pytest.fixture
def app(fake_slack: FakeSlack, mentions: Recorder) -> Iterator[App]:
    slack_bolt = {
        **settings.SLACK_BOLT,
        "SIGNING_SECRET": SIGNING_SECRET,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": "client-secret",
        "SCOPES": ["app_mentions:read", "chat:write"],
        "TOKEN_ENCRYPTION_KEYS": [settings.TEST_TOKEN_KEY],
    }
    with override_settings(SLACK_BOLT=slack_bolt):
        cache.clear()
        app = build_app()

        @app.event("app_mention")
        def on_mention(context: BoltContext, say: Say) -> None:
            mentions.record(
                enterprise_id=context.enterprise_id,
                team_id=context.team_id,
                bot_token=context.bot_token,
                user_token=context.user_token,
            )
            say("hi")

        with fake_slack.point_app(app):
            yield app


@pytest.fixture
def post(app: App, serve: Callable[..., str], client: Client) -> Callable[[SlackRequest], Any]:
    url = serve(SlackRequestHandler(app).handle)

    def send(request: SlackRequest) -> Any:
        response = request.post(client, url)
        assert response.status_code == 200, response.content
        return response

    return send


@pytest.fixture
def store(app: App) -> DjangoInstallationStore:
    store = DjangoInstallationStore(CLIENT_ID)
    for workspace in ALL:
        for installation in workspace.installations():
            store.save(installation)
    return store


def untouched(*revoked: Workspace) -> None:
    for workspace in ALL:
        if workspace not in revoked:
            assert workspace.stored() == (list(workspace.users), len(workspace.users)), workspace.name


def signalled(deletions: list[dict[str, Any]]) -> list[tuple[str | None, str | None, str | None, bool]]:
    for sent in deletions:
        assert sent["sender"] is DjangoInstallationStore
        assert isinstance(sent["store"], DjangoInstallationStore)
        assert sent["store"].client_id == CLIENT_ID
    return [(d["enterprise_id"], d["team_id"], d["user_id"], d["bots"]) for d in deletions]


def mention_and_wait(
    post: Callable[[SlackRequest], Any], mentions: Recorder, workspace: Workspace, user: str
) -> dict[str, Any]:
    seen = len(mentions.calls)
    response = post(workspace.mention(user))
    assert REFUSED not in response.content.decode()
    return mentions.wait(seen + 1)[seen]


# --- app_uninstalled ----------------------------------------------------------------------------


@pytest.mark.parametrize("workspace", REVOKED)
def test_app_uninstalled_deletes_every_row_of_exactly_that_workspace(post, store, deletions, workspace):
    post(workspace.event({"type": "app_uninstalled"}))

    sent = deletions.wait(1)
    assert workspace.stored() == ([], 0)
    untouched(workspace)
    # delete_all(): one signal for both tables.
    assert signalled(sent) == [(workspace.enterprise_id, workspace.team_id, None, True)]


@pytest.mark.parametrize("workspace", REVOKED)
def test_after_uninstall_requests_are_refused_and_the_cached_authorization_is_gone(
    post, store, deletions, mentions, fake_slack, workspace, caplog
):
    user = workspace.users[0]
    seen = mention_and_wait(post, mentions, workspace, user)
    assert (seen["bot_token"], seen["user_token"]) == (workspace.bot_token, workspace.user_token(user))
    assert workspace.cached(user).bot_token == workspace.bot_token

    post(workspace.event({"type": "app_uninstalled"}))
    deletions.wait(1)
    assert workspace.cached(user) is None

    with caplog.at_level(logging.ERROR):
        refused = post(workspace.mention(user))
    assert REFUSED in refused.content.decode()
    assert "AuthorizeResult (returned value from authorize) for it was not found" in caplog.text
    # Another workspace's listener still runs; the uninstalled one's never did.
    assert mention_and_wait(post, mentions, GLOBEX, "U3")["bot_token"] == GLOBEX.bot_token
    assert [call["team_id"] for call in mentions.calls] == [workspace.team_id, "T2"]
    fake_slack.wait_for_call("chat.postMessage", count=2)
    assert [call.token for call in fake_slack.calls_to("chat.postMessage")] == [
        workspace.bot_token,
        GLOBEX.bot_token,
    ]
    assert fake_slack.calls_to("auth.test") == []  # DjangoAuthorize never asks Slack


# --- tokens_revoked -----------------------------------------------------------------------------


@pytest.mark.parametrize("workspace", REVOKED)
def test_revoked_bot_tokens_delete_that_workspaces_bots_only(post, store, deletions, workspace):
    post(workspace.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER_ID]}}))

    sent = deletions.wait(1)
    assert workspace.stored() == (list(workspace.users), 0)
    untouched(workspace)
    assert signalled(sent) == [(workspace.enterprise_id, workspace.team_id, None, True)]


@pytest.mark.parametrize("workspace", REVOKED)
def test_revoked_user_tokens_delete_exactly_those_users_installations(
    post, store, deletions, mentions, workspace
):
    revoked, kept = workspace.users
    assert mention_and_wait(post, mentions, workspace, revoked)["user_token"] == workspace.user_token(revoked)

    post(workspace.event({"type": "tokens_revoked", "tokens": {"oauth": [revoked], "bot": []}}))

    sent = deletions.wait(1)
    assert workspace.stored() == ([kept], len(workspace.users))
    untouched(workspace)
    assert signalled(sent) == [(workspace.enterprise_id, workspace.team_id, revoked, False)]
    # The bot works on; the revoked user's token is not served from the cache.
    assert workspace.cached(revoked) is None
    seen = mention_and_wait(post, mentions, workspace, revoked)
    assert (seen["bot_token"], seen["user_token"]) == (workspace.bot_token, None)
    seen = mention_and_wait(post, mentions, workspace, kept)
    assert seen["user_token"] == workspace.user_token(kept)


def test_revoking_several_users_at_once(post, store, deletions):
    post(ACME.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1", "U2"], "bot": [BOT_USER_ID]}}))

    sent = deletions.wait(3)
    assert ACME.stored() == ([], 0)
    untouched(ACME)
    assert sorted(signalled(sent), key=str) == sorted(
        [(None, "T1", "U1", False), (None, "T1", "U2", False), (None, "T1", None, True)], key=str
    )


# --- known bugs (see the reasons) ---------------------------------------------------------------


def test_app_uninstalled_of_an_org_wide_install_as_slack_sends_it(post, store, deletions):
    envelope = {**UMBRELLA.envelope, "authorizations": org_authorizations("E2", "T9")}
    post(event({"type": "app_uninstalled"}, signing_secret=SIGNING_SECRET, **envelope))

    deletions.wait(1)
    assert UMBRELLA.stored() == ([], 0)


def test_a_revoked_bot_token_is_not_served_afterwards(post, store, deletions, mentions):
    post(ACME.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER_ID]}}))
    deletions.wait(1)

    response = post(ACME.mention("U1"))
    if REFUSED in response.content.decode():
        return
    assert mentions.wait(1)[0]["bot_token"] != ACME.bot_token


def test_a_receiver_can_tell_a_bot_revocation_from_an_uninstall(post, store, deletions):
    post(ACME.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER_ID]}}))
    deletions.wait(1)
    post(GLOBEX.event({"type": "app_uninstalled"}))
    revocation, uninstall = deletions.wait(2)

    def meaning(sent: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in sent.items() if k not in ("sender", "store", "enterprise_id", "team_id")}

    assert ACME.stored() == (["U1", "U2"], 0)
    assert GLOBEX.stored() == ([], 0)
    assert meaning(revocation) != meaning(uninstall)


# --- malformed revocations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(5, id="tokens-number"),
        pytest.param("oauth", id="tokens-string"),
        pytest.param({"oauth": "U1U2", "bot": []}, id="oauth-string"),
        pytest.param({"oauth": [5, None], "bot": []}, id="oauth-numbers"),
    ],
)
def test_a_malformed_tokens_revoked_deletes_nothing_and_raises_nothing(
    post, store, deletions, caplog, tokens
):
    # A string must not be read one character at a time (user ids "U", "1", ...), a number not raise.
    caplog.set_level(logging.INFO)
    post(ACME.event({"type": "tokens_revoked", "tokens": tokens}))

    def warned() -> bool:
        return any(
            "tokens_revoked" in r.getMessage() for r in caplog.records if r.name == "django_slack_bolt.oauth"
        )

    deadline = time.monotonic() + 5
    while not warned() and time.monotonic() < deadline:  # the listener runs in Bolt's thread
        time.sleep(0.01)
    assert warned()
    assert deletions.calls == []
    untouched()
    assert not [r for r in caplog.records if r.exc_info is not None]
