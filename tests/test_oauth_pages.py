"""The OAuth pages rendered from Django templates: through the full request path (URLconf, middleware,
SlackRequestHandler, Bolt's OAuth flow), with Slack's side played by FakeSlack."""

from __future__ import annotations

import asyncio
import contextlib
import html
import importlib
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import clear_url_caches
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation
from slack_sdk.oauth.state_store import FileOAuthStateStore

from django_slack_bolt.oauth.pages import (
    DjangoCallbackOptions,
    DjangoOAuthFlow,
    success_page_context,
)
from django_slack_bolt.testing import FakeSlack

from .support import SIGNING_SECRET

APP_NAME = "Deploy Bot"
STATE_COOKIE = "slack-app-oauth-state"
# Text that must never reach a page: exception messages, tokens, Slack's error payloads.
SECRET_MARK = "zq-secret-4471"


def oauth_settings(tmp_path: Path, **overrides: Any) -> OAuthSettings:
    kwargs: dict[str, Any] = {
        "client_id": "111.222",
        "client_secret": "client-secret",
        "scopes": ["commands", "chat:write"],
        "redirect_uri": "https://example.com/slack/oauth_redirect",
        "installation_store": FileInstallationStore(base_dir=str(tmp_path / "installations")),
        "state_store": FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
    }
    kwargs.update(overrides)
    return OAuthSettings(**kwargs)


def build_app(tmp_path: Path, **overrides: Any) -> App:
    flow = DjangoOAuthFlow(settings=oauth_settings(tmp_path, **overrides), app_name=APP_NAME)
    return App(signing_secret=SIGNING_SECRET, oauth_flow=flow)


def oauth_access_answer(**overrides: Any) -> dict[str, Any]:
    """What Slack's oauth.v2.access answers for a workspace install."""
    answer: dict[str, Any] = {
        "ok": True,
        "app_id": "A0APP",
        "authed_user": {"id": "U00000001", "access_token": f"xoxp-{SECRET_MARK}", "scope": "identify"},
        "scope": "commands,chat:write",
        "token_type": "bot",
        "access_token": f"xoxb-{SECRET_MARK}",
        "bot_user_id": "U0BOT",
        "team": {"id": "T0TEAM", "name": "Acme"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    answer.update(overrides)
    return answer


# --- serving an app through django_slack_bolt.urls ------------------------------------------------

served_app: App | None = None


def _reload_urls() -> None:
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    # django_slack_bolt.urls builds its patterns from the configured app at import time.
    importlib.reload(package_urls)
    importlib.reload(oauth_urls)
    clear_url_caches()


@pytest.fixture
def serve_app(fake_slack: FakeSlack) -> Iterator[Callable[[App], App]]:
    """Serve an app at /slack/ as SLACK_BOLT["APP"], its Web API calls (oauth.v2.access) on fake_slack."""
    global served_app
    with contextlib.ExitStack() as stack:

        def serve(app: App) -> App:
            global served_app
            served_app = app
            stack.enter_context(fake_slack.point_app(app))
            stack.enter_context(
                override_settings(
                    SLACK_BOLT={**django_settings.SLACK_BOLT, "APP": f"{__name__}.served_app"},
                    ROOT_URLCONF="tests.oauth_urls",
                )
            )
            _reload_urls()
            return app

        yield serve
    served_app = None
    _reload_urls()


@pytest.fixture
def app(tmp_path: Path, serve_app: Callable[[App], App]) -> App:
    return serve_app(build_app(tmp_path))


def start_install(client: Client) -> str:
    """Open the install page as the installer's browser; the state of its authorize URL."""
    resp = client.get("/slack/install")
    assert resp.status_code == 200
    match = re.search(r'<a class="button" href="([^"]+)">Add to Slack</a>', resp.content.decode())
    assert match, resp.content.decode()
    [state] = parse_qs(urlsplit(html.unescape(match.group(1))).query)["state"]
    return state


def assert_failure_page(resp: Any, status: int, words: str, reason: str) -> None:
    assert resp.status_code == status
    assert resp["Content-Type"] == "text/html; charset=utf-8"
    assert resp["Cache-Control"] == "no-store"
    assert words in resp.content.decode()
    assert f"Error code: {reason}" in resp.content.decode()
    assert '<a class="button" href="/slack/install">Try again</a>' in resp.content.decode()
    # The one-time state is spent whatever happened: the cookie is deleted, as Bolt's pages do.
    assert resp.cookies[STATE_COOKIE].value == "deleted"
    assert SECRET_MARK not in resp.content.decode()
    assert "Traceback" not in resp.content.decode()


# --- install page ---------------------------------------------------------------------------------


def test_install_page_shows_the_button_with_the_authorize_url_and_sets_the_state_cookie(client, app):
    resp = client.get("/slack/install")

    assert resp.status_code == 200
    assert resp["Content-Type"] == "text/html; charset=utf-8"
    assert resp["Cache-Control"] == "no-store"  # a one-time state: no shared cache may keep the page
    state = resp.cookies[STATE_COOKIE].value
    assert resp.cookies[STATE_COOKIE]["httponly"] is True
    authorize_url = app.oauth_flow.settings.authorize_url_generator.generate(state=state)
    assert f"/oauth/v2/authorize?state={state}&client_id=111.222&scope=commands,chat:write" in authorize_url
    assert f'<a class="button" href="{html.escape(authorize_url)}">Add to Slack</a>' in resp.content.decode()
    assert f"<h1>Add {APP_NAME} to Slack</h1>" in resp.content.decode()
    assert resp.content.decode().startswith("<!DOCTYPE html>")
    # Offline: no external stylesheet, script or image (the only absolute URL is the button's).
    assert "<script" not in resp.content.decode()
    assert "<img" not in resp.content.decode()
    assert re.findall(r'(?:href|src)="(https?:[^"]*)"', resp.content.decode()) == [html.escape(authorize_url)]


def test_install_page_without_an_app_name(client, tmp_path, serve_app):
    serve_app(
        App(signing_secret=SIGNING_SECRET, oauth_flow=DjangoOAuthFlow(settings=oauth_settings(tmp_path)))
    )
    resp = client.get("/slack/install")
    assert resp.status_code == 200
    assert "<h1>Add the app to Slack</h1>" in resp.content.decode()
    assert "None" not in resp.content.decode()


def test_a_project_template_overrides_the_package_one(client, app, tmp_path):
    templates = tmp_path / "templates" / "django_slack_bolt"
    templates.mkdir(parents=True)
    (templates / "install.html").write_text(
        '<p>Our own page for {{ app_name }}: <a href="{{ authorize_url }}">install</a></p>'
    )
    (templates / "oauth_failure.html").write_text("<p>Own failure page: {{ reason }} {{ status_code }}</p>")
    project_templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(tmp_path / "templates")],
            "APP_DIRS": True,
        }
    ]
    with override_settings(TEMPLATES=project_templates):
        install = client.get("/slack/install")
        failure = client.get("/slack/oauth_redirect?error=access_denied")

    assert install.content.decode().startswith(f"<p>Our own page for {APP_NAME}: ")
    assert re.search(r'<a href="https?://[^"]+/oauth/v2/authorize\?state=', install.content.decode())
    assert failure.content.decode() == "<p>Own failure page: access_denied 200</p>"
    # The templates not overridden still come from the package.
    assert "Add to Slack" in client.get("/slack/install").content.decode()


def test_pages_render_even_when_no_template_engine_finds_them(client, app):
    # An API-only project may have TEMPLATES = []: the package renders its own templates then.
    with override_settings(TEMPLATES=[]):
        resp = client.get("/slack/install")
    assert resp.status_code == 200
    assert ">Add to Slack</a>" in resp.content.decode()


# --- callback: failures ---------------------------------------------------------------------------


def test_callback_without_the_state_cookie_asks_to_start_again_in_this_browser(client, app):
    state = start_install(Client())  # another browser started the installation

    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert_failure_page(resp, 400, "Start again in this browser", "invalid_browser")
    assert "did not keep the cookie" in resp.content.decode()


def test_callback_with_an_unknown_state_says_the_link_expired(client, app):
    client.cookies[STATE_COOKIE] = "forged"
    resp = client.get("/slack/oauth_redirect?code=abc&state=forged")
    assert_failure_page(resp, 401, "This installation link has expired", "invalid_state")


def test_callback_replayed_with_a_used_state_says_the_link_was_already_used(client, app, fake_slack):
    fake_slack.respond("oauth.v2.access", oauth_access_answer())
    state = start_install(client)
    assert client.get(f"/slack/oauth_redirect?code=abc&state={state}").status_code == 200

    client.cookies[STATE_COOKIE] = state
    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert_failure_page(resp, 401, "expired or was already used", "invalid_state")


def test_callback_after_the_installer_cancelled(client, app):
    resp = client.get("/slack/oauth_redirect?error=access_denied&state=x")
    assert_failure_page(resp, 200, "Installation cancelled", "access_denied")
    assert "cancelled in Slack" in resp.content.decode()


def test_callback_without_a_code(client, app):
    state = start_install(client)
    resp = client.get(f"/slack/oauth_redirect?state={state}")
    assert_failure_page(resp, 401, "Slack did not finish the installation", "missing_code")


def test_slack_refusing_the_code_shows_a_readable_page_without_slacks_answer(client, app, fake_slack):
    fake_slack.respond(
        "oauth.v2.access", {"ok": False, "error": "invalid_grant_zq", "detail": f"details {SECRET_MARK}"}
    )
    state = start_install(client)

    resp = client.get(f"/slack/oauth_redirect?code=code-{SECRET_MARK}&state={state}")

    assert_failure_page(resp, 401, "Slack refused the installation", "invalid_code")
    assert "invalid_grant_zq" not in resp.content.decode()
    assert fake_slack.last_call("oauth.v2.access").params["code"] == f"code-{SECRET_MARK}"


@pytest.mark.parametrize("error_class", [RuntimeError, BoltError])
def test_a_failing_installation_store_shows_the_storage_error_page_and_logs_the_error(
    client, tmp_path, serve_app, fake_slack, caplog, error_class
):
    class FailingStore(FileInstallationStore):
        def save(self, installation: Installation) -> None:
            raise error_class(f"database on fire, token xoxb-{SECRET_MARK}")

    serve_app(build_app(tmp_path, installation_store=FailingStore(base_dir=str(tmp_path / "inst"))))
    fake_slack.respond("oauth.v2.access", oauth_access_answer())
    state = start_install(client)

    with caplog.at_level(logging.ERROR, logger="django_slack_bolt.oauth"):
        resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert_failure_page(resp, 500, "The installation could not be saved", "storage_error")
    assert "database on fire" not in resp.content.decode()
    # The operator learns what happened; the installer does not.
    [record] = [r for r in caplog.records if r.name == "django_slack_bolt.oauth"]
    assert record.levelno == logging.ERROR
    assert "database on fire" in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        "Your+account+is+locked,+call+0800-SCAM",
        "%3Cscript%3Ealert(1)%3C/script%3E",
        "x" * 500,
    ],
)
def test_text_in_the_error_parameter_is_not_put_on_the_page(client, app, error):
    resp = client.get(f"/slack/oauth_redirect?error={error}&state=x")
    assert resp.status_code == 200
    assert "The installation did not complete" in resp.content.decode()
    assert "Error code" not in resp.content.decode()
    for text in ("0800-SCAM", "<script>alert", "alert(1)", "x" * 100):
        assert text not in resp.content.decode()


def test_an_unknown_slack_error_code_gets_the_generic_message_and_its_code(client, app):
    resp = client.get("/slack/oauth_redirect?error=invalid_team_for_non_distributed_app&state=x")
    assert_failure_page(
        resp, 200, "The installation did not complete", "invalid_team_for_non_distributed_app"
    )


@pytest.mark.parametrize(
    "query",
    ["", "code=", "code=x&state=", "code=%ff%fe&state=%00", "error=%ff", "code=a&code=b&state=c&state=d"],
)
def test_odd_callback_queries_never_5xx(client, app, query):
    client.cookies[STATE_COOKIE] = "../../not-a-state"
    resp = client.get(f"/slack/oauth_redirect?{query}")
    assert resp.status_code in (200, 400, 401)
    assert "Try again" in resp.content.decode()


# --- callback: success ----------------------------------------------------------------------------


def test_success_page_shows_the_workspace_and_opens_slack(client, app, fake_slack, tmp_path):
    fake_slack.respond("oauth.v2.access", oauth_access_answer())
    state = start_install(client)

    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert resp.status_code == 200
    assert resp["Cache-Control"] == "no-store"
    assert resp.cookies[STATE_COOKIE].value == "deleted"
    assert f"<h1>{APP_NAME} is installed</h1>" in resp.content.decode()
    assert "It was added to the Acme workspace." in resp.content.decode()
    # Bolt's default target: the app in the Slack client, opened at once and by the button.
    assert (
        '<a class="button" href="slack://app?team=T0TEAM&amp;id=A0APP">Open Slack</a>'
        in resp.content.decode()
    )
    assert (
        '<meta http-equiv="refresh" content="0; url=slack://app?team=T0TEAM&amp;id=A0APP">'
        in resp.content.decode()
    )
    assert 'href="https://app.slack.com/client/T0TEAM"' in resp.content.decode()
    assert '<meta name="referrer" content="no-referrer">' in resp.content.decode()
    assert SECRET_MARK not in resp.content.decode()  # no token of the installation
    saved = app.oauth_flow.settings.installation_store.find_installation(enterprise_id=None, team_id="T0TEAM")
    assert saved is not None
    assert saved.bot_token == f"xoxb-{SECRET_MARK}"


def test_success_page_escapes_the_team_name(client, app, fake_slack):
    fake_slack.respond(
        "oauth.v2.access",
        oauth_access_answer(team={"id": "T0TEAM", "name": "<script>alert(1)</script> & Co"}),
    )
    state = start_install(client)

    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert resp.status_code == 200
    assert (
        "It was added to the &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co workspace."
        in resp.content.decode()
    )
    assert "<script>" not in resp.content.decode()


def test_success_page_of_an_org_wide_install_links_to_the_organizations_app_page(client, app, fake_slack):
    fake_slack.respond(
        "oauth.v2.access",
        oauth_access_answer(
            team=None, enterprise={"id": "E0ORG", "name": "Acme Group"}, is_enterprise_install=True
        ),
    )
    fake_slack.respond(
        "auth.test", {"ok": True, "bot_id": "B0BOT", "url": "https://acme.enterprise.slack.com/"}
    )
    state = start_install(client)

    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert resp.status_code == 200
    assert "It was added to the Acme Group organization." in resp.content.decode()
    target = "https://acme.enterprise.slack.com/manage/organization/apps/profile/A0APP/workspaces/add"
    assert f'<a class="button" href="{target}">' in resp.content.decode()
    assert "app.slack.com/client" not in resp.content.decode()


def test_success_url_of_the_settings_is_where_the_page_sends_the_installer(
    client, tmp_path, serve_app, fake_slack
):
    serve_app(build_app(tmp_path, success_url="https://example.com/welcome?from=slack"))
    fake_slack.respond("oauth.v2.access", oauth_access_answer())
    state = start_install(client)

    resp = client.get(f"/slack/oauth_redirect?code=abc&state={state}")

    assert 'content="0; url=https://example.com/welcome?from=slack"' in resp.content.decode()
    assert 'href="https://example.com/welcome?from=slack"' in resp.content.decode()


def test_an_enterprise_url_that_is_not_https_never_becomes_a_link(tmp_path):
    installation = Installation(
        app_id="A0APP",
        enterprise_id="E0ORG",
        enterprise_url="javascript:alert(1)//",
        user_id="U1",
        is_enterprise_install=True,
    )
    context = success_page_context(installation, oauth_settings(tmp_path))
    assert context["open_slack_url"] == context["redirect_url"] == "slack://open"


# --- wiring ---------------------------------------------------------------------------------------


def test_flow_installs_the_django_callback_options_when_the_settings_have_none(tmp_path):
    settings = oauth_settings(tmp_path)
    flow = DjangoOAuthFlow(settings=settings, app_name=APP_NAME)
    assert isinstance(settings.callback_options, DjangoCallbackOptions)
    assert settings.callback_options.app_name == APP_NAME
    assert flow.success_handler == settings.callback_options.success
    assert flow.failure_handler == settings.callback_options.failure


def test_flow_keeps_callback_options_of_your_own(tmp_path):
    own = CallbackOptions(success=lambda args: None, failure=lambda args: None)  # type: ignore[arg-type,return-value]
    flow = DjangoOAuthFlow(settings=oauth_settings(tmp_path, callback_options=own))
    assert flow.settings.callback_options is own
    assert flow.success_handler is own.success


def test_the_templates_are_package_data():
    import django_slack_bolt

    templates = Path(django_slack_bolt.__file__).parent / "templates" / "django_slack_bolt"
    names = {"base.html", "install.html", "oauth_success.html", "oauth_failure.html"}
    assert names <= {path.name for path in templates.iterdir()}


def test_the_sync_pages_do_not_import_bolts_async_modules():
    # Those need aiohttp, an optional dependency.
    code = (
        "import sys, django_slack_bolt.oauth.pages, django_slack_bolt as p; "
        "assert 'slack_bolt.oauth.async_oauth_flow' not in sys.modules; "
        "assert p.AsyncDjangoOAuthFlow.__name__ == 'AsyncDjangoOAuthFlow'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- async ----------------------------------------------------------------------------------------

# slack_sdk's AsyncWebClient sends the client credentials with aiohttp's BasicAuth (deprecated in 3.13).
calls_slack_async = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


def async_flow(tmp_path: Path, fake_slack: FakeSlack, **overrides: Any) -> Any:
    pytest.importorskip("aiohttp")
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from slack_sdk.web.async_client import AsyncWebClient

    from django_slack_bolt.oauth.async_pages import AsyncDjangoCallbackOptions, AsyncDjangoOAuthFlow

    kwargs: dict[str, Any] = {
        "client_id": "111.222",
        "client_secret": "client-secret",
        "scopes": ["commands"],
        "installation_store": FileInstallationStore(base_dir=str(tmp_path / "installations")),
        "state_store": FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
    }
    kwargs.update(overrides)
    settings = AsyncOAuthSettings(**kwargs)
    flow = AsyncDjangoOAuthFlow(
        client=AsyncWebClient(base_url=fake_slack.url), settings=settings, app_name=APP_NAME
    )
    assert isinstance(settings.callback_options, AsyncDjangoCallbackOptions)
    return flow


def async_request(query: str = "", cookie: str | None = None) -> Any:
    from slack_bolt.request.async_request import AsyncBoltRequest

    return AsyncBoltRequest(body="", query=query, headers={"cookie": cookie} if cookie else {})


def async_install(flow: Any) -> str:
    resp = asyncio.run(flow.handle_installation(async_request()))
    assert resp.status == 200
    assert resp.headers["cache-control"] == ["no-store"]
    assert f"<h1>Add {APP_NAME} to Slack</h1>" in resp.body
    [cookie] = resp.cookies()
    state: str = cookie[STATE_COOKIE].value
    assert f'href="https://slack.com/oauth/v2/authorize?state={state}&amp;client_id=111.222' in resp.body
    return state


@calls_slack_async
def test_async_flow_renders_the_install_and_success_pages(tmp_path, fake_slack):
    flow = async_flow(tmp_path, fake_slack)
    fake_slack.respond("oauth.v2.access", oauth_access_answer(team={"id": "T0TEAM", "name": "<b>Acme</b>"}))
    state = async_install(flow)

    resp = asyncio.run(
        flow.handle_callback(async_request(f"code=abc&state={state}", f"{STATE_COOKIE}={state}"))
    )

    assert resp.status == 200
    assert "It was added to the &lt;b&gt;Acme&lt;/b&gt; workspace." in resp.body
    assert 'href="slack://app?team=T0TEAM&amp;id=A0APP"' in resp.body
    assert SECRET_MARK not in resp.body
    assert fake_slack.last_call("oauth.v2.access").params["code"] == "abc"


@pytest.mark.parametrize(
    ("query", "with_cookie", "status", "words"),
    [
        ("error=access_denied", False, 200, "Installation cancelled"),
        ("code=abc&state={state}", False, 400, "Start again in this browser"),
        ("code=abc&state=forged", True, 401, "This installation link has expired"),
    ],
)
def test_async_flow_renders_the_failure_page(tmp_path, fake_slack, query, with_cookie, status, words):
    flow = async_flow(tmp_path, fake_slack)
    state = async_install(flow)
    cookie = f"{STATE_COOKIE}={'forged' if 'forged' in query else state}" if with_cookie else None

    resp = asyncio.run(flow.handle_callback(async_request(query.format(state=state), cookie)))

    assert resp.status == status
    assert words in resp.body
    assert '<a class="button" href="/slack/install">Try again</a>' in resp.body


@calls_slack_async
def test_async_flow_turns_a_failing_store_into_the_storage_error_page(tmp_path, fake_slack, caplog):
    class FailingStore(FileInstallationStore):
        def save(self, installation: Installation) -> None:
            raise RuntimeError(f"database on fire {SECRET_MARK}")

    flow = async_flow(tmp_path, fake_slack, installation_store=FailingStore(base_dir=str(tmp_path / "i")))
    fake_slack.respond("oauth.v2.access", oauth_access_answer())
    state = async_install(flow)

    with caplog.at_level(logging.ERROR, logger="django_slack_bolt.oauth"):
        resp = asyncio.run(
            flow.handle_callback(async_request(f"code=abc&state={state}", f"{STATE_COOKIE}={state}"))
        )

    assert resp.status == 500
    assert "The installation could not be saved" in resp.body
    assert SECRET_MARK not in resp.body
    assert "database on fire" in caplog.text
