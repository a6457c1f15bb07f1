"""DjangoAuthorize: the AuthorizeResult from the stored installation, no auth.test, cached.

Bolt's own InstallationStoreAuthorize (with auth.test answered by the fake Slack) is the oracle for
which tokens and ids a request gets; ours must agree without calling Slack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from slack_bolt import App, BoltContext
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt.handler import SlackRequestHandler
from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.testing import FakeSlack, SlackTestClient
from tests.support import SIGNING_SECRET
from tests.urls import REGISTERED_HANDLERS

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID = "111.222"
PATH = "/registered/authorize/events"
RESULT_FIELDS = (
    "enterprise_id",
    "team_id",
    "bot_id",
    "bot_user_id",
    "bot_token",
    "bot_scopes",
    "user_id",
    "user_token",
    "user_scopes",
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def installation(
    team_id: str | None, user_id: str, *, bot: bool = True, user: bool = True, **extra: Any
) -> Installation:
    stamp = extra.pop("installed_at", time.time())
    suffix = f"{team_id or extra.get('enterprise_id')}-{user_id}-{int(stamp * 1000)}"
    return Installation(
        app_id="A0APP",
        team_id=team_id,
        team_name=f"Team {team_id}",
        bot_token=f"xoxb-{suffix}" if bot else None,
        bot_id=f"B{team_id}" if bot else None,
        bot_user_id=f"UB{team_id}" if bot else None,
        bot_scopes=["chat:write", "commands"] if bot else "",
        user_id=user_id,
        user_token=f"xoxp-{suffix}" if user else None,
        user_scopes=["search:read"] if user else "",
        installed_at=stamp,
        **extra,
    )


def serve(app: App) -> SlackTestClient:
    REGISTERED_HANDLERS["authorize"] = SlackRequestHandler(app).handle
    return SlackTestClient(app=app, events_path=PATH)


def context_app(store: DjangoInstallationStore, **authorize_kwargs: Any) -> App:
    """An app whose /whoami command answers with what authorize put in the context."""
    app = App(
        signing_secret=SIGNING_SECRET,
        authorize=DjangoAuthorize(
            installation_store=store, client_id=CLIENT_ID, client_secret="s", **authorize_kwargs
        ),
    )

    @app.command("/whoami")
    def whoami(ack: Any, context: BoltContext) -> None:
        result = context.authorize_result
        ack("|".join(str(result.get(name)) for name in RESULT_FIELDS) if result else "none")

    return app


def slack_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "django_slack_bolt_" in q["sql"]]


def test_no_auth_test_one_query_cold_none_warm(fake_slack: FakeSlack) -> None:
    store = DjangoInstallationStore(CLIENT_ID)
    saved = installation("T1", "U1")
    store.save(saved)
    app = context_app(store)
    fake_slack.point_app(app)
    client = serve(app)

    with CaptureQueriesContext(connection) as cold:
        first = client.command("/whoami", team_id="T1", user_id="U1")
    with CaptureQueriesContext(connection) as warm:
        second = client.command("/whoami", team_id="T1", user_id="U1")

    assert first.status_code == second.status_code == 200
    expected = (
        f"None|T1|BT1|UBT1|{saved.bot_token}|['chat:write', 'commands']|U1|{saved.user_token}|['search:read']"
    )
    assert first.content.decode() == second.content.decode() == expected
    assert len(slack_queries(cold)) == 1, slack_queries(cold)
    assert slack_queries(warm) == []
    assert fake_slack.calls_to("auth.test") == []


def test_cache_is_invalidated_by_save_and_delete(fake_slack: FakeSlack) -> None:
    store = DjangoInstallationStore(CLIENT_ID)
    store.save(installation("T1", "U1", installed_at=1_700_000_000.0))
    client = serve(context_app(store))
    assert (
        "xoxb-T1-U1-1700000000000" in client.command("/whoami", team_id="T1", user_id="U1").content.decode()
    )

    reinstalled = installation("T1", "U1", installed_at=1_700_000_100.0)
    store.save(reinstalled)
    with CaptureQueriesContext(connection) as after_save:
        answer = client.command("/whoami", team_id="T1", user_id="U1").content.decode()
    assert reinstalled.bot_token in answer
    assert len(slack_queries(after_save)) == 1

    store.delete_all(enterprise_id=None, team_id="T1")
    gone = client.command("/whoami", team_id="T1", user_id="U1")
    # Bolt answers an unauthorized request itself; the listener never runs.
    assert "xoxb" not in gone.content.decode()


def test_another_workspace_is_unaffected_by_invalidation(fake_slack: FakeSlack) -> None:
    store = DjangoInstallationStore(CLIENT_ID)
    store.save(installation("T1", "U1"))
    store.save(installation("T2", "U2"))
    client = serve(context_app(store))
    client.command("/whoami", team_id="T1", user_id="U1")
    client.command("/whoami", team_id="T2", user_id="U2")
    store.save(installation("T1", "U1", installed_at=time.time() + 5))
    with CaptureQueriesContext(connection) as captured:
        client.command("/whoami", team_id="T2", user_id="U2")
    assert slack_queries(captured) == []


def test_two_workspaces_get_their_own_tokens(fake_slack: FakeSlack) -> None:
    store = DjangoInstallationStore(CLIENT_ID)
    one, two = installation("T1", "U1"), installation("T2", "U2")
    store.save(one)
    store.save(two)
    client = serve(context_app(store))
    assert one.bot_token in client.command("/whoami", team_id="T1", user_id="U1").content.decode()
    assert two.bot_token in client.command("/whoami", team_id="T2", user_id="U2").content.decode()
    assert one.bot_token not in client.command("/whoami", team_id="T2", user_id="U2").content.decode()


def test_cached_entries_hold_no_token_text(fake_slack: FakeSlack) -> None:
    store = DjangoInstallationStore(CLIENT_ID)
    saved = installation("T1", "U1")
    store.save(saved)
    serve(context_app(store)).command("/whoami", team_id="T1", user_id="U1")
    dumped = repr(dict(cache._cache.items()))  # type: ignore[attr-defined]
    assert "django_slack_bolt" in dumped or dumped != "{}"
    assert "xoxb-" not in dumped
    assert "xoxp-" not in dumped


# -- the oracle: Bolt's own authorize, with auth.test answered per token -------------------------


def _auth_test_answers(fake: FakeSlack, installations: list[Installation]) -> None:
    by_token: dict[str, dict[str, Any]] = {}
    for item in installations:
        common = {
            "ok": True,
            "enterprise_id": item.enterprise_id,
            "team_id": item.team_id,
            "team": item.team_name,
        }
        if item.bot_token:
            by_token[item.bot_token] = {**common, "user_id": item.bot_user_id, "bot_id": item.bot_id}
        if item.user_token:
            by_token[item.user_token] = {**common, "user_id": item.user_id}
    fake.respond(
        "auth.test", lambda call: by_token.get(call.token or "", {"ok": False, "error": "invalid_auth"})
    )


SCENARIOS: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "installer is the request user": ([{"team_id": "T1", "user_id": "U1"}], {"user_id": "U1"}),
    "another user, no own install": ([{"team_id": "T1", "user_id": "U1"}], {"user_id": "U9"}),
    "another user with an own user install": (
        [
            {"team_id": "T1", "user_id": "U1", "installed_at": 1_700_000_000.0},
            {"team_id": "T1", "user_id": "U2", "bot": False, "installed_at": 1_700_000_100.0},
        ],
        {"user_id": "U1"},
    ),
    "user install after the bot install": (
        [
            {"team_id": "T1", "user_id": "U1", "installed_at": 1_700_000_000.0},
            {"team_id": "T1", "user_id": "U2", "bot": False, "installed_at": 1_700_000_100.0},
        ],
        {"user_id": "U2"},
    ),
    "re-install by another user": (
        [
            {"team_id": "T1", "user_id": "U1", "installed_at": 1_700_000_000.0},
            {"team_id": "T1", "user_id": "U2", "installed_at": 1_700_000_100.0},
        ],
        {"user_id": "U1"},
    ),
    "bot only install": ([{"team_id": "T1", "user_id": "U1", "user": False}], {"user_id": "U1"}),
    "user only install": ([{"team_id": "T1", "user_id": "U1", "bot": False}], {"user_id": "U1"}),
    "no user in the request": ([{"team_id": "T1", "user_id": "U1"}], {"user_id": None}),
    "org-wide install": (
        [{"team_id": None, "user_id": "U1", "enterprise_id": "E1", "is_enterprise_install": True}],
        {"user_id": "U1", "enterprise_id": "E1", "team_id": "T7", "is_enterprise_install": True},
    ),
    "grid workspace install": (
        [{"team_id": "T1", "user_id": "U1", "enterprise_id": "E1"}],
        {"user_id": "U1", "enterprise_id": "E1"},
    ),
    "nothing installed": ([], {"user_id": "U1", "team_id": "T5"}),
}


@pytest.mark.parametrize("bot_only", [False, True], ids=["default", "bot_only"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_result_as_bolts_authorize(fake_slack: FakeSlack, scenario: str, bot_only: bool) -> None:
    rows, request = SCENARIOS[scenario]
    store = DjangoInstallationStore(CLIENT_ID)
    saved = []
    for row in rows:
        row = dict(row)
        item = installation(row.pop("team_id"), row.pop("user_id"), **row)
        store.save(item)
        saved.append(item)
    _auth_test_answers(fake_slack, saved)
    request = {"enterprise_id": None, "team_id": "T1", **request}
    is_enterprise_install = request.pop("is_enterprise_install", False)

    def run(authorize: Any) -> Any:
        context = BoltContext(
            client=WebClient(base_url=fake_slack.url), is_enterprise_install=is_enterprise_install
        )
        return authorize(context=context, **request)

    oracle = run(InstallationStoreAuthorize(logger=store.logger, installation_store=store, bot_only=bot_only))
    calls_before = len(fake_slack.calls_to("auth.test"))
    ours = run(DjangoAuthorize(installation_store=store, bot_only=bot_only))
    assert len(fake_slack.calls_to("auth.test")) == calls_before
    if oracle is None:
        assert ours is None
        return
    assert ours is not None
    assert {name: ours.get(name) for name in RESULT_FIELDS} == {
        name: oracle.get(name) for name in RESULT_FIELDS
    }
