"""The Django admin of installations, bots and OAuth states, through the real admin site.

Every page is fetched as a superuser and searched for the stored tokens (and for Fernet ciphertext):
none may appear, nor in a message. The actions call FakeSlack through SLACK_BOLT["WEB_API_URL"].
Transactional tests: the store sends its signals and drops cached authorizations on commit, as in
production, where the admin's changelist view is not wrapped in a transaction.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin as django_admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory, override_settings
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt.admin import TOKEN_FIELDS
from django_slack_bolt.models import SlackBot, SlackInstallation, SlackOAuthState
from django_slack_bolt.oauth import authorization_cache
from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.signals import installation_deleted
from django_slack_bolt.testing import FakeSlack, RecordedCall

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_ID = "111.222"
MARK = "tok3n-s3cret"
# What must never reach a page or a message: every stored token, and the ciphertext of any (Fernet).
FORBIDDEN = (MARK, "gAAAAA")

ACME_BOT = f"xoxb-{MARK}-acme"
ACME_U1 = f"xoxp-{MARK}-acme-u1"
ACME_U2 = f"xoxp-{MARK}-acme-u2"
GLOBEX_BOT = f"xoxb-{MARK}-globex"
ORG_BOT = f"xoxb-{MARK}-org"

MARCH_2024 = datetime(2024, 3, 1, 12, tzinfo=timezone.utc).timestamp()
JUNE_2025 = datetime(2025, 6, 1, 12, tzinfo=timezone.utc).timestamp()
TOKENS_EXPIRE = datetime(2099, 1, 1, tzinfo=timezone.utc).timestamp()  # never due for rotation here

CHANGELIST = "/admin/django_slack_bolt/slackinstallation/"
BOT_CHANGELIST = "/admin/django_slack_bolt/slackbot/"
STATE_CHANGELIST = "/admin/django_slack_bolt/slackoauthstate/"


def installation(
    *,
    team_id: str | None,
    team_name: str | None,
    user_id: str,
    bot_token: str | None,
    user_token: str | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    is_enterprise_install: bool = False,
    installed_at: float = MARCH_2024,
) -> Installation:
    return Installation(
        app_id="A0APP",
        enterprise_id=enterprise_id,
        enterprise_name=enterprise_name,
        team_id=team_id,
        team_name=team_name,
        bot_token=bot_token,
        bot_id="B0BOT" if bot_token else None,
        bot_user_id="U0BOT" if bot_token else None,
        bot_scopes=["chat:write", "commands"] if bot_token else None,
        bot_refresh_token=f"xoxe-1-{MARK}-bot-refresh" if bot_token else None,
        bot_token_expires_at=int(TOKENS_EXPIRE) if bot_token else None,
        user_id=user_id,
        user_token=user_token,
        user_scopes=["search:read"] if user_token else None,
        user_refresh_token=f"xoxe-1-{MARK}-user-refresh" if user_token else None,
        user_token_expires_at=int(TOKENS_EXPIRE) if user_token else None,
        is_enterprise_install=is_enterprise_install,
        installed_at=installed_at,
    )


@pytest.fixture
def store() -> DjangoInstallationStore:
    return DjangoInstallationStore(CLIENT_ID)


@pytest.fixture
def rows(store: DjangoInstallationStore) -> dict[str, SlackInstallation]:
    """Acme (two installers), Globex in the Initech grid, and an org-wide install of Umbrella."""
    store.save(
        installation(team_id="T1", team_name="Acme", user_id="U1", bot_token=ACME_BOT, user_token=ACME_U1)
    )
    store.save(
        installation(
            team_id="T1",
            team_name="Acme",
            user_id="U2",
            bot_token=ACME_BOT,
            user_token=ACME_U2,
            installed_at=MARCH_2024 + 60,
        )
    )
    store.save(
        installation(
            team_id="T2",
            team_name="Globex",
            user_id="U3",
            bot_token=GLOBEX_BOT,
            enterprise_id="E1",
            enterprise_name="Initech Grid",
            installed_at=JUNE_2025,
        )
    )
    store.save(
        installation(
            team_id=None,
            team_name=None,
            user_id="U4",
            bot_token=ORG_BOT,
            enterprise_id="E2",
            enterprise_name="Umbrella Org",
            is_enterprise_install=True,
            installed_at=JUNE_2025,
        )
    )
    found = {row.user_id: row for row in SlackInstallation.objects.all()}
    return {"acme_u1": found["U1"], "acme_u2": found["U2"], "globex": found["U3"], "org": found["U4"]}


@pytest.fixture
def web_api(fake_slack: FakeSlack) -> Iterator[FakeSlack]:
    """The admin's Web API calls go to fake_slack."""
    with override_settings(SLACK_BOLT={**settings.SLACK_BOLT, "WEB_API_URL": fake_slack.url}):
        yield fake_slack


@pytest.fixture
def deletions() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sent.append({"sender": sender, **kwargs})

    installation_deleted.connect(receiver)
    yield sent
    installation_deleted.disconnect(receiver)


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    text = response.content.decode()
    for forbidden in FORBIDDEN:
        assert forbidden not in text, f"{forbidden!r} on {url}"
    return text


def run_action(
    client: Client, action: str, selected: list[SlackInstallation], *, confirm: bool = True
) -> list[str]:
    """Run a changelist action (confirmed, if it asks); the messages shown afterwards."""
    data: dict[str, Any] = {"action": action, "_selected_action": [row.pk for row in selected]}
    if confirm:
        data["post"] = "yes"
    response = client.post(CHANGELIST, data, follow=True)
    assert response.status_code == 200
    for forbidden in FORBIDDEN:
        assert forbidden not in response.content.decode()
    shown = [str(message) for message in response.context["messages"]]
    for message in shown:
        for forbidden in FORBIDDEN:
            assert forbidden not in message
    return shown


def tokens_called(fake: FakeSlack, method: str) -> list[str | None]:
    return [call.token for call in fake.calls_to(method)]


# --- pages --------------------------------------------------------------------------------------


def test_changelists_and_change_pages_render_and_never_show_a_token(admin_client, rows):
    SlackOAuthState.objects.create(state=f"state-{MARK}", expires_at=datetime.now(timezone.utc))
    index = page(admin_client, "/admin/")
    assert "Slack installations" in index
    assert "Slack bots" in index

    changelist = page(admin_client, CHANGELIST)
    for shown in ("Acme", "T1", "Globex", "Initech Grid", "E1", "Umbrella Org", "U1", "U2", "chat:write"):
        assert shown in changelist
    for row in rows.values():
        change = page(admin_client, f"{CHANGELIST}{row.pk}/change/")
        assert row.user_id in change
        page(admin_client, f"{CHANGELIST}{row.pk}/history/")
    assert "Acme" in page(admin_client, f"{CHANGELIST}{rows['acme_u1'].pk}/change/")

    bots = page(admin_client, BOT_CHANGELIST)
    assert "Acme" in bots
    assert "Globex" in bots
    for bot in SlackBot.objects.all():
        page(admin_client, f"{BOT_CHANGELIST}{bot.pk}/change/")

    states = page(admin_client, STATE_CHANGELIST)
    assert "state-" not in states
    state_page = page(admin_client, f"{STATE_CHANGELIST}{SlackOAuthState.objects.get().pk}/change/")
    assert "state-" not in state_page
    assert "Expires at" in state_page


@pytest.mark.parametrize("model", [SlackInstallation, SlackBot, SlackOAuthState])
def test_no_token_in_any_field_list_of_the_admin(admin_user, rows, model):
    model_admin = django_admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    obj = model.objects.first() or SlackOAuthState.objects.create(
        state="s", expires_at=datetime.now(timezone.utc)
    )
    hidden = TOKEN_FIELDS | ({"state"} if model is SlackOAuthState else set())
    names: set[str] = set()
    for fields in (
        model_admin.get_fields(request, obj),
        model_admin.get_readonly_fields(request, obj),
        model_admin.get_list_display(request),
        model_admin.get_search_fields(request),
        model_admin.get_form(request, obj).base_fields,
    ):
        names |= {name for name in fields if isinstance(name, str)}
    for _, options in model_admin.get_fieldsets(request, obj):
        for name in options["fields"]:
            names |= set(name) if isinstance(name, tuple) else {name}
    assert not names & hidden
    assert names  # something is shown


def test_installations_cannot_be_added_edited_or_deleted_through_the_admin(admin_client, rows):
    row = rows["acme_u1"]
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    change = page(admin_client, f"{CHANGELIST}{row.pk}/change/")
    assert 'name="_save"' not in change
    assert "/delete/" not in change
    response = admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"team_name": "Hacked", "user_id": "U9"})
    assert response.status_code == 403
    assert admin_client.get(f"{CHANGELIST}{row.pk}/delete/").status_code == 403
    row.refresh_from_db()
    assert (row.team_name, row.user_id, row.bot_token) == ("Acme", "U1", ACME_BOT)

    changelist = page(admin_client, CHANGELIST)
    assert 'value="delete_selected"' not in changelist
    assert 'value="test_authorization"' in changelist
    assert 'value="revoke_and_delete"' in changelist
    assert admin_client.get(f"{BOT_CHANGELIST}add/").status_code == 403
    assert 'value="delete_selected"' not in page(admin_client, BOT_CHANGELIST)


def test_a_user_who_may_only_view_can_test_but_not_revoke(rows, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_slackinstallation"))
    client = Client()
    client.force_login(viewer)
    changelist = page(client, CHANGELIST)
    assert 'value="test_authorization"' in changelist
    assert 'value="revoke_and_delete"' not in changelist
    client.post(CHANGELIST, {"action": "revoke_and_delete", "_selected_action": [rows["acme_u1"].pk]})
    assert SlackInstallation.objects.count() == 4


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("enterprise=E1", ["Globex"], ["Acme", "Umbrella Org</td>"]),
        ("enterprise=-", ["Acme"], ["Globex", "Umbrella Org</td>"]),
        ("is_enterprise_install__exact=1", ["Umbrella Org"], ["Acme", "Globex"]),
        ("q=glob", ["Globex"], ["Acme"]),
        ("q=U2", ["Acme"], ["Globex"]),
        ("q=Umbrella", ["E2"], ["Acme", "Globex"]),
        ("installed_at__year=2024", ["Acme"], ["Globex"]),
    ],
)
def test_filters_search_and_date_hierarchy(admin_client, rows, query, shown, hidden):
    text = page(admin_client, f"{CHANGELIST}?{query}")
    results = text[text.index('id="result_list"') :]
    for name in shown:
        assert name in results
    for name in hidden:
        assert name not in results


def test_enterprise_filter_lists_the_organizations_by_name(admin_client, rows):
    text = page(admin_client, CHANGELIST)
    assert "Initech Grid (E1)" in text
    assert "Umbrella Org (E2)" in text
    assert "?enterprise=-" in text


# --- Test authorization -------------------------------------------------------------------------


def test_test_authorization_calls_auth_test_with_each_rows_bot_token(admin_client, rows, web_api):
    shown = run_action(admin_client, "test_authorization", [rows["acme_u1"], rows["globex"]])
    assert sorted(tokens_called(web_api, "auth.test")) == sorted([ACME_BOT, GLOBEX_BOT])
    assert len(shown) == 2
    assert all("works" in message for message in shown)
    assert any(message.startswith("Acme (T1) by U1") for message in shown)
    assert any(message.startswith("Globex (T2) by U3") for message in shown)


def test_test_authorization_uses_the_user_token_when_the_row_has_no_bot_token(admin_client, store, web_api):
    store.save(
        installation(team_id="T7", team_name="Users Only", user_id="U7", bot_token=None, user_token=ACME_U1)
    )
    shown = run_action(admin_client, "test_authorization", list(SlackInstallation.objects.all()))
    assert tokens_called(web_api, "auth.test") == [ACME_U1]
    assert "user token works" in shown[0]


def test_test_authorization_reports_slacks_error_per_workspace(admin_client, rows, web_api):
    def answer(call: RecordedCall) -> dict[str, Any]:
        if call.token == GLOBEX_BOT:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "user_id": "U0BOT", "team": "Acme", "team_id": "T1"}

    web_api.respond("auth.test", answer)
    shown = run_action(admin_client, "test_authorization", [rows["acme_u1"], rows["globex"]])
    assert "Acme (T1) by U1: the bot token works (auth.test: U0BOT in Acme)." in shown
    assert "Globex (T2) by U3: the bot token does not work (auth.test: invalid_auth)." in shown


def test_test_authorization_of_bots(admin_client, rows, web_api):
    bot = SlackBot.objects.get(team_id="T2")
    response = admin_client.post(
        BOT_CHANGELIST, {"action": "test_authorization", "_selected_action": [bot.pk]}, follow=True
    )
    shown = [str(message) for message in response.context["messages"]]
    assert tokens_called(web_api, "auth.test") == [GLOBEX_BOT]
    assert shown == [
        "bot U0BOT in Globex (T2): the bot token works (auth.test: U0000B0T1 in Fake Workspace)."
    ]


def test_an_unreachable_slack_is_reported_without_details(admin_client, rows):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = f"http://127.0.0.1:{port}/api/"
    with override_settings(SLACK_BOLT={**settings.SLACK_BOLT, "WEB_API_URL": closed}):
        shown = run_action(admin_client, "test_authorization", [rows["globex"]])
        assert shown == [
            "Globex (T2) by U3: the bot token does not work (auth.test: could not reach Slack: URLError)."
        ]
        shown = run_action(admin_client, "revoke_and_delete", [rows["globex"]])
    assert "not deleted" in shown[0]
    assert SlackInstallation.objects.filter(team_id="T2").exists()
    assert SlackBot.objects.filter(team_id="T2").exists()


# --- Revoke and delete --------------------------------------------------------------------------


def test_revoke_asks_for_confirmation_first(admin_client, rows, web_api):
    response = admin_client.post(
        CHANGELIST, {"action": "revoke_and_delete", "_selected_action": [rows["acme_u1"].pk]}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "Acme (T1) by U1" in text
    assert 'name="post" value="yes"' in text
    assert f'name="_selected_action" value="{rows["acme_u1"].pk}"' in text
    for forbidden in FORBIDDEN:
        assert forbidden not in text
    assert web_api.calls == []
    assert SlackInstallation.objects.count() == 4


def test_revoke_deletes_the_selected_installers_rows_and_the_workspaces_bots(
    admin_client, rows, web_api, deletions
):
    shown = run_action(admin_client, "revoke_and_delete", [rows["acme_u1"]])

    assert sorted(tokens_called(web_api, "auth.revoke")) == sorted([ACME_BOT, ACME_U1])
    assert shown == [
        "Acme (T1) by U1: tokens revoked; 1 installation row deleted; "
        "the bot token is revoked and the workspace's bot rows deleted."
    ]
    # U2's installation in the same workspace stays, as does every other workspace.
    assert sorted(SlackInstallation.objects.values_list("user_id", flat=True)) == ["U2", "U3", "U4"]
    assert not SlackBot.objects.filter(team_id="T1").exists()
    assert SlackBot.objects.filter(team_id="T2").exists()
    assert SlackBot.objects.filter(enterprise_id="E2").exists()
    assert [(d["team_id"], d["user_id"], d["bots"]) for d in deletions] == [
        ("T1", None, True),
        ("T1", "U1", False),
    ]
    assert all(d["sender"] is DjangoInstallationStore and d["enterprise_id"] is None for d in deletions)
    logged = LogEntry.objects.get(action_flag=DELETION)
    assert logged.object_repr == "Acme (T1) by U1"


def test_revoke_drops_the_cached_authorizations_of_the_workspace(admin_client, rows, store, web_api):
    authorize = DjangoAuthorize(installation_store=store)
    context = BoltContext(client=WebClient(base_url=web_api.url))
    result = authorize(context=context, enterprise_id=None, team_id="T1", user_id="U1")
    assert result is not None
    assert result.user_token == ACME_U1
    assert authorization_cache.lookup(CLIENT_ID, None, "T1", "U1", False).result is not None

    run_action(admin_client, "revoke_and_delete", [rows["acme_u1"]])

    assert authorization_cache.lookup(CLIENT_ID, None, "T1", "U1", False).result is None
    # The workspace's bot token was revoked with U1's grant, and U1 has no token left: other users'
    # rows still hold the revoked bot token, which is not served.
    assert authorize(context=context, enterprise_id=None, team_id="T1", user_id="U1") is None


def test_revoke_of_an_org_wide_install(admin_client, rows, web_api, deletions):
    shown = run_action(admin_client, "revoke_and_delete", [rows["org"]])
    assert tokens_called(web_api, "auth.revoke") == [ORG_BOT]
    assert shown[0].startswith("Umbrella Org (org E2) by U4: tokens revoked; 1 installation row deleted")
    assert not SlackInstallation.objects.filter(enterprise_id="E2").exists()
    assert not SlackBot.objects.filter(enterprise_id="E2").exists()
    assert SlackInstallation.objects.count() == 3
    assert [(d["enterprise_id"], d["team_id"], d["user_id"], d["bots"]) for d in deletions] == [
        ("E2", None, None, True),
        ("E2", None, "U4", False),
    ]


def test_each_token_is_revoked_once_and_each_workspaces_bots_deleted_once(
    admin_client, rows, web_api, deletions
):
    shown = run_action(admin_client, "revoke_and_delete", [rows["acme_u1"], rows["acme_u2"]])
    assert sorted(tokens_called(web_api, "auth.revoke")) == sorted([ACME_BOT, ACME_U1, ACME_U2])
    assert len(shown) == 2
    assert sum("bot rows deleted" in message for message in shown) == 1
    assert not SlackInstallation.objects.filter(team_id="T1").exists()
    assert [d["bots"] for d in deletions].count(True) == 1


def test_an_installers_older_rows_in_the_workspace_go_with_the_selected_one(
    admin_client, rows, store, web_api
):
    store.save(
        installation(
            team_id="T1",
            team_name="Acme",
            user_id="U1",
            bot_token=ACME_BOT,
            user_token=ACME_U1,
            installed_at=MARCH_2024 + 3600,
        )
    )
    newest = SlackInstallation.objects.filter(user_id="U1").latest("installed_at")
    shown = run_action(admin_client, "revoke_and_delete", [newest])
    assert "2 installation rows deleted (with the installer's older rows in this workspace)" in shown[0]
    assert not SlackInstallation.objects.filter(user_id="U1").exists()
    assert SlackInstallation.objects.filter(user_id="U2").exists()


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_a_token_that_is_already_dead_does_not_keep_the_row(admin_client, rows, web_api, error):
    web_api.respond("auth.revoke", {"ok": False, "error": error})
    shown = run_action(admin_client, "revoke_and_delete", [rows["globex"]])
    assert "1 installation row deleted" in shown[0]
    assert not SlackInstallation.objects.filter(team_id="T2").exists()
    assert not SlackBot.objects.filter(team_id="T2").exists()


def test_a_failed_revocation_keeps_the_row_and_says_why(admin_client, rows, web_api, deletions):
    def answer(call: RecordedCall) -> dict[str, Any]:
        if call.token == ACME_U1:
            return {"ok": False, "error": "ratelimited"}
        return {"ok": True, "revoked": True}

    web_api.respond("auth.revoke", answer)
    shown = run_action(admin_client, "revoke_and_delete", [rows["acme_u1"], rows["globex"]])

    assert (
        "Acme (T1) by U1: not deleted: auth.revoke of the user token failed (ratelimited); "
        "the bot token is revoked and the workspace's bot rows deleted." in shown
    )
    assert any(
        message.startswith("Globex (T2) by U3: tokens revoked; 1 installation row deleted")
        for message in shown
    )
    assert SlackInstallation.objects.filter(user_id="U1").exists()
    # The bot token was revoked: the workspace's bots went even though U1's row stays.
    assert not SlackBot.objects.filter(team_id="T1").exists()
    assert not SlackInstallation.objects.filter(team_id="T2").exists()
    assert ("T1", "U1") not in [(d["team_id"], d["user_id"]) for d in deletions]


def test_a_failed_bot_revocation_keeps_the_row_and_the_bots(admin_client, rows, web_api, deletions):
    web_api.respond("auth.revoke", {"ok": False, "error": "internal_error"})
    shown = run_action(admin_client, "revoke_and_delete", [rows["globex"]])
    assert shown == ["Globex (T2) by U3: not deleted: auth.revoke of the bot token failed (internal_error)."]
    assert SlackInstallation.objects.filter(team_id="T2").exists()
    assert SlackBot.objects.filter(team_id="T2").exists()
    assert deletions == []


def test_an_installation_without_tokens_is_deleted_without_calling_slack(admin_client, store, web_api):
    store.save(installation(team_id="T8", team_name="Empty", user_id="U8", bot_token=None))
    shown = run_action(admin_client, "revoke_and_delete", list(SlackInstallation.objects.all()))
    assert shown == ["Empty (T8) by U8: no token to revoke; 1 installation row deleted."]
    assert web_api.calls == []
    assert not SlackInstallation.objects.exists()


def test_the_oauth_state_admin_shows_only_the_expiry(admin_client):
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    SlackOAuthState.objects.create(state=f"state-{MARK}", expires_at=past)
    text = page(admin_client, STATE_CHANGELIST)
    assert "expired" in text.lower()
    assert 'alt="True"' in text
    assert admin_client.get(f"{STATE_CHANGELIST}add/").status_code == 403
