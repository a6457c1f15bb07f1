"""The ASGI side: AsyncSlackRequestHandler, the async views and django_slack_bolt.urls serving an AsyncApp.

Requests go through Django's AsyncClient, so through the URLconf, the middleware (CSRF and
LoginRequiredMiddleware included) and the async views, as under an ASGI server.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import django
import pytest
from django.core.checks import Warning
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.urls import clear_url_caches, resolve, reverse
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltError
from slack_bolt.lazy_listener.asyncio_runner import AsyncioLazyListenerRunner
from slack_bolt.listener.async_listener_completion_handler import AsyncListenerCompletionHandler
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore

import django_slack_bolt
from django_slack_bolt.checks import check_async_app_served_under_asgi, check_settings
from django_slack_bolt.exceptions import SlackBoltImproperlyConfigured
from django_slack_bolt.http import async_handler
from django_slack_bolt.http import sync_handler as handler
from django_slack_bolt.http.app_loader import get_configured_async_handler, get_configured_handler
from django_slack_bolt.http.async_handler import (
    AsyncDjangoLazyListenerRunner,
    AsyncDjangoListenerCompletionHandler,
    AsyncSlackRequestHandler,
)
from django_slack_bolt.http.asyncio_runner import FastAckAsyncioListenerRunner
from django_slack_bolt.http.views import AsyncSlackEventsView, SlackEventsView
from django_slack_bolt.testing import (
    RESPONSE_URL_METHOD,
    SlackRequest,
    app_mention,
    block_action,
    options,
    sign,
    slash_command,
    url_verification,
    view_submission,
)

from .apps import async_slack_app
from .async_support import asend, async_test, await_call, make_async_app
from .support import SIGNING_SECRET, make_app
from .test_bad_input import MALFORMED_BODIES, _sign_bytes

EVENTS = "/slack/events"
FORM = "application/x-www-form-urlencoded"


def _reload_urls() -> None:
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    # django_slack_bolt.urls builds its patterns from the configured app at import time.
    importlib.reload(package_urls)
    importlib.reload(oauth_urls)
    clear_url_caches()


@pytest.fixture
def async_project(fake_slack):
    """SLACK_BOLT["APP"] is tests.apps.async_slack_app.app, served by django_slack_bolt.urls."""
    with (
        override_settings(
            SLACK_BOLT={"APP": "tests.apps.async_slack_app.app"}, ROOT_URLCONF="tests.oauth_urls"
        ),
        fake_slack.point_app(async_slack_app.app),
    ):
        _reload_urls()
        yield async_slack_app.app
    _reload_urls()


@pytest.fixture
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield caplog
    for record in caplog.records:
        assert record.exc_info is None, f"traceback logged: {record.getMessage()}"
        assert "Traceback" not in record.getMessage()


# --- the package API ------------------------------------------------------------------------------


def test_top_level_exports_the_async_handler_lazily():
    assert django_slack_bolt.AsyncSlackRequestHandler is AsyncSlackRequestHandler
    assert django_slack_bolt.FastAckAsyncioListenerRunner is FastAckAsyncioListenerRunner
    assert "AsyncSlackRequestHandler" in dir(django_slack_bolt)


def test_a_sync_project_never_imports_bolts_async_side():
    """Bolt's async side needs aiohttp; a project serving an App must work without it."""
    code = textwrap.dedent(
        """
        import sys

        import django

        django.setup()
        import django_slack_bolt.checks
        import django_slack_bolt.urls
        from django.core.checks import run_checks
        from django_slack_bolt import SlackRequestHandler

        run_checks()
        print(sorted(m for m in ("slack_bolt.app.async_app", "aiohttp") if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- what the handler installs, and what it refuses -------------------------------------------------


def test_handler_installs_fast_ack_runner_lazy_runner_and_completion_handler():
    app = make_async_app()
    lazy_logger = app.listener_runner.logger
    AsyncSlackRequestHandler(app)
    runner = app.listener_runner
    assert isinstance(runner, FastAckAsyncioListenerRunner)
    assert isinstance(runner.lazy_listener_runner, AsyncDjangoLazyListenerRunner)
    assert runner.lazy_listener_runner.logger is lazy_logger
    assert isinstance(runner.listener_completion_handler, AsyncDjangoListenerCompletionHandler)


def test_handler_can_keep_bolts_polling_runner():
    app = make_async_app()
    AsyncSlackRequestHandler(app, fast_ack=False)
    assert type(app.listener_runner) is AsyncioListenerRunner
    assert isinstance(app.listener_runner.lazy_listener_runner, AsyncDjangoLazyListenerRunner)


def test_fast_ack_setting_false_keeps_bolts_runner(settings):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "FAST_ACK": False}
    app = make_async_app()
    AsyncSlackRequestHandler(app)
    assert type(app.listener_runner) is AsyncioListenerRunner


def test_wrapping_twice_is_harmless():
    app = make_async_app()
    AsyncSlackRequestHandler(app)
    runner = app.listener_runner
    AsyncSlackRequestHandler(app)
    assert app.listener_runner is runner
    assert isinstance(runner.listener_completion_handler, AsyncDjangoListenerCompletionHandler)


def test_process_before_response_installs_only_the_lazy_runner():
    app = make_async_app(process_before_response=True)
    completion = app.listener_runner.listener_completion_handler
    AsyncSlackRequestHandler(app)
    assert isinstance(app.listener_runner.lazy_listener_runner, AsyncDjangoLazyListenerRunner)
    assert app.listener_runner.listener_completion_handler is completion


class _OwnCompletion(AsyncListenerCompletionHandler):
    async def handle(self, request, response):  # type: ignore[no-untyped-def]
        pass


def test_custom_completion_handler_is_kept_and_the_user_is_told(caplog):
    app = make_async_app()
    app.listener_runner.listener_completion_handler = _OwnCompletion()
    app.logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        AsyncSlackRequestHandler(app)
    assert isinstance(app.listener_runner.listener_completion_handler, _OwnCompletion)
    assert "listener_completion_handler is already your own" in caplog.text
    assert "arelease_thread_local_connections()" in caplog.text


def test_non_asyncio_runner_is_refused_before_the_app_is_touched():
    app = make_async_app()
    original_middleware = list(app._async_middleware_list)

    class NotAnAsyncioRunner:
        lazy_listener_runner = AsyncioLazyListenerRunner(logging.getLogger("x"))

    original_lazy = NotAnAsyncioRunner.lazy_listener_runner
    app._async_listener_runner = NotAnAsyncioRunner()  # type: ignore[assignment]
    with pytest.raises(BoltError, match="not compatible"):
        AsyncSlackRequestHandler(app)
    assert app.listener_runner.lazy_listener_runner is original_lazy
    assert app._async_middleware_list == original_middleware


def test_each_handler_refuses_the_other_kind_of_app_untouched():
    app = make_app()
    runner = app.listener_runner
    with pytest.raises(BoltError, match=r"serve an App with django_slack_bolt\.SlackRequestHandler"):
        AsyncSlackRequestHandler(app)  # type: ignore[arg-type]
    assert app.listener_runner is runner

    async_app = make_async_app()
    async_runner = async_app.listener_runner
    with pytest.raises(
        BoltError, match=r"serve an AsyncApp with django_slack_bolt\.AsyncSlackRequestHandler"
    ):
        handler.SlackRequestHandler(async_app)  # type: ignore[arg-type]
    assert async_app.listener_runner is async_runner


@async_test
async def test_bolt_does_not_verify_a_signature_the_guard_already_checked(monkeypatch):
    from slack_sdk.signature import SignatureVerifier

    checks: list[str] = []
    real_is_valid = SignatureVerifier.is_valid

    def counting_is_valid(self, body, timestamp, signature):  # type: ignore[no-untyped-def]
        checks.append(timestamp)
        return real_is_valid(self, body, timestamp, signature)

    monkeypatch.setattr(SignatureVerifier, "is_valid", counting_is_valid)
    app = make_async_app()

    @app.command("/echo")
    async def echo(ack):  # type: ignore[no-untyped-def]
        await ack("once")

    ours = AsyncSlackRequestHandler(app)
    resp = await ours.handle(slash_command("/echo", signing_secret=SIGNING_SECRET).post(RequestFactory()))
    assert (resp.status_code, resp.content) == (200, b"once")
    assert len(checks) == 1


@async_test
async def test_the_app_still_verifies_requests_dispatched_to_it_directly():
    from slack_bolt.request.async_request import AsyncBoltRequest

    app = make_async_app()

    @app.command("/echo")
    async def echo(ack):  # type: ignore[no-untyped-def]
        await ack("reached")

    AsyncSlackRequestHandler(app)
    unsigned = slash_command("/echo", signing_secret=None)
    headers = {"content-type": unsigned.content_type}
    assert (await app.async_dispatch(AsyncBoltRequest(body=unsigned.body, headers=headers))).status == 401
    forged = AsyncBoltRequest(
        body=unsigned.body, headers=headers, context={"django_slack_bolt_signature_verified": False}
    )
    assert (await app.async_dispatch(forged)).status == 401
    signed = slash_command("/echo", signing_secret=SIGNING_SECRET)
    assert (
        await app.async_dispatch(AsyncBoltRequest(body=signed.body, headers=signed.headers))
    ).status == 200


# --- one conversion core: both handlers answer alike --------------------------------------------------


def _summary(resp) -> tuple[int, bytes, str]:  # type: ignore[no-untyped-def]
    return resp.status_code, resp.content, resp.get("Content-Type", "")


DIFFERENTIAL_REQUESTS = [
    pytest.param(slash_command("/echo", "hi", signing_secret=SIGNING_SECRET), id="signed-command"),
    pytest.param(slash_command("/echo", "hi", signing_secret=None), id="unsigned-command"),
    pytest.param(slash_command("/echo", "hi", signing_secret="wrong"), id="wrong-secret"),
    pytest.param(url_verification("c-1", signing_secret=SIGNING_SECRET), id="url-verification"),
    pytest.param(SlackRequest(body="ssl_check=1&token=abc", content_type=FORM), id="ssl-check"),
    *(
        pytest.param(
            SlackRequest(body=body.decode("utf-8", "replace"), content_type=content_type).signed(
                SIGNING_SECRET
            ),
            id=f"signed-{param.id}",
        )
        for param in MALFORMED_BODIES
        for body, content_type in [param.values]
    ),
]


@pytest.mark.usefixtures("allow_replays")  # the same signed request, to both handlers
@pytest.mark.parametrize("request_", DIFFERENTIAL_REQUESTS)
@async_test
async def test_sync_and_async_handlers_answer_alike(request_):
    sync_app = make_app()
    sync_app.command("/echo")(lambda ack, command: ack(f"echo: {command['text']}"))
    async_app = make_async_app()

    @async_app.command("/echo")
    async def echo(ack, command):  # type: ignore[no-untyped-def]
        await ack(f"echo: {command['text']}")

    factory = RequestFactory()
    sync_resp = handler.SlackRequestHandler(sync_app).handle(request_.post(factory))
    async_resp = await AsyncSlackRequestHandler(async_app).handle(request_.post(factory))
    assert _summary(async_resp) == _summary(sync_resp)


def test_the_async_handler_uses_the_shared_conversion_core():
    assert async_handler.read_request is handler.read_request
    assert async_handler.to_django_response is handler.to_django_response
    assert async_handler.build_bolt_request is handler.build_bolt_request
    assert async_handler.route is handler.route


@async_test
async def test_handle_routes_like_the_sync_handler(tmp_path):
    app = make_async_oauth_app(tmp_path)
    ours = AsyncSlackRequestHandler(app)
    factory = RequestFactory()

    install = await ours.handle(factory.get("/slack/install"))
    assert install.status_code == 200
    assert b"slack.com/oauth/v2/authorize" in install.content
    assert "slack-app-oauth-state" in install.cookies

    callback = await ours.handle(factory.get("/slack/oauth_redirect?error=access_denied"))
    assert callback.status_code == 200
    assert b"access_denied" in callback.content

    assert (await ours.handle(factory.get("/elsewhere"))).status_code == 404
    assert (await ours.handle(factory.put("/slack/events"))).status_code == 404
    assert (await ours.handle(factory.delete("/slack/install"))).status_code == 404
    forged = slash_command("/unknown", "hi", signing_secret="not-the-secret")
    assert (await ours.handle(forged.post(factory))).status_code == 401

    plain = AsyncSlackRequestHandler(make_async_app())
    assert (await plain.handle(factory.get("/slack/install"))).status_code == 404
    assert (await plain.install(factory.get("/slack/install"))).status_code == 404
    assert (await plain.oauth_redirect(factory.get("/slack/oauth_redirect"))).status_code == 404


# --- the full request path: django_slack_bolt.urls serving the configured AsyncApp ---------------------


def test_urls_serve_async_views_for_an_async_app(async_project):
    match = resolve("/slack/events")
    assert match.func.view_class is AsyncSlackEventsView  # type: ignore[attr-defined]
    assert asyncio.iscoroutinefunction(match.func)
    assert reverse("django_slack_bolt:events") == "/slack/events"
    assert isinstance(get_configured_async_handler(), AsyncSlackRequestHandler)
    with pytest.raises(SlackBoltImproperlyConfigured, match="is an AsyncApp"):
        get_configured_handler()


def test_urls_serve_sync_views_for_an_app():
    match = resolve("/slack/events")
    assert match.func.view_class is SlackEventsView  # type: ignore[attr-defined]
    assert not asyncio.iscoroutinefunction(match.func)
    with pytest.raises(SlackBoltImproperlyConfigured, match=r"is a slack_bolt\.App"):
        get_configured_async_handler()


@pytest.mark.parametrize("path", ["/slack/events", "/slack/events/"])
@async_test
async def test_slash_command_without_csrf_token(async_project, path):
    client = AsyncClient(enforce_csrf_checks=True)
    resp = await asend(client, slash_command("/echo", "hi", signing_secret=SIGNING_SECRET), path)
    assert (resp.status_code, resp.content) == (200, b"echo: hi")


@async_test
async def test_app_mention_is_acknowledged_and_the_listener_posts(async_project, fake_slack):
    resp = await asend(AsyncClient(), app_mention("hello bot", signing_secret=SIGNING_SECRET))
    assert (resp.status_code, resp.content) == (200, b"")
    call = await await_call(fake_slack, "chat.postMessage")
    assert call.params["text"] == "you said: <@U0000B0T1> hello bot"
    assert call.params["thread_ts"]
    assert call.token == "xoxb-test-token"


@async_test
async def test_block_action_responds_through_the_response_url(async_project, fake_slack):
    request = block_action(
        "approve", "PR-42", signing_secret=SIGNING_SECRET, response_url=fake_slack.response_url("act")
    )
    resp = await asend(AsyncClient(), request)
    assert (resp.status_code, resp.content) == (200, b"")
    call = await await_call(fake_slack, RESPONSE_URL_METHOD)
    assert call.path.endswith("/act")
    assert call.params["text"] == "approved by <@U00000001>"


@async_test
async def test_options_and_view_submission_bodies(async_project):
    client = AsyncClient()
    resp = await asend(client, options("pick", "dj", signing_secret=SIGNING_SECRET))
    assert resp.status_code == 200
    assert resp.json()["options"] == [{"text": {"type": "plain_text", "text": "DJ"}, "value": "1"}]
    resp = await asend(client, view_submission("form", signing_secret=SIGNING_SECRET))
    assert resp.json() == {"response_action": "errors", "errors": {"b1": "too short"}}


@async_test
async def test_lazy_listener_runs_after_the_ack(async_project, fake_slack):
    resp = await asend(AsyncClient(), slash_command("/later", "tea", signing_secret=SIGNING_SECRET))
    assert (resp.status_code, resp.content) == (200, b"queued")
    call = await await_call(fake_slack, "chat.postMessage")
    assert call.params["text"] == "later: tea"


@async_test
async def test_url_verification_needs_a_signature(async_project):
    client = AsyncClient()
    request = url_verification("c-123", signing_secret=SIGNING_SECRET)
    assert (await asend(client, request.unsigned())).status_code == 401
    signed = await asend(client, request)
    assert signed.json() == {"challenge": "c-123"}


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@async_test
async def test_wrong_method_on_events_is_405_with_allow(async_project, method):
    resp = await getattr(AsyncClient(), method)(EVENTS)
    assert resp.status_code == 405
    assert set(resp["Allow"].split(", ")) == {"POST", "HEAD", "OPTIONS"}


@async_test
async def test_head_on_events_is_200_for_uptime_probes(async_project):
    resp = await AsyncClient().head(EVENTS)
    assert (resp.status_code, resp.content) == (200, b"")


@pytest.mark.skipif(django.VERSION < (5, 1), reason="LoginRequiredMiddleware exists from Django 5.1")
def test_async_views_are_csrf_and_login_exempt(settings):
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in settings.MIDDLEWARE
    view = AsyncSlackEventsView.as_view()
    assert view.login_required is False  # type: ignore[attr-defined]
    assert view.csrf_exempt is True  # type: ignore[attr-defined]
    assert asyncio.iscoroutinefunction(view)


# --- bad input, through the async path -------------------------------------------------------------


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
@async_test
async def test_unsigned_malformed_body_is_401(async_project, body, content_type, no_tracebacks):
    resp = await AsyncClient().post(EVENTS, body, content_type=content_type)
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid request"}


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
@async_test
async def test_signed_malformed_body_is_400_with_a_short_json_error(
    async_project, body, content_type, no_tracebacks
):
    resp = await AsyncClient().post(EVENTS, body, content_type=content_type, headers=_sign_bytes(body))
    assert resp.status_code == 400
    assert resp["Content-Type"] == "application/json"
    assert 0 < len(resp.json()["error"]) < 80


@async_test
async def test_oversized_body_is_413(async_project, settings, no_tracebacks):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "MAX_BODY_SIZE": 1024}
    resp = await asend(AsyncClient(), slash_command("/echo", "x" * 2000, signing_secret=SIGNING_SECRET))
    assert resp.status_code == 413
    assert resp.json() == {"error": "request body too large"}


@async_test
async def test_body_over_djangos_upload_limit_is_413(async_project, settings, no_tracebacks):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 512
    resp = await asend(AsyncClient(), slash_command("/echo", "x" * 1000, signing_secret=SIGNING_SECRET))
    assert resp.status_code == 413


@async_test
async def test_stale_and_badly_signed_requests_are_401(async_project, no_tracebacks):
    client = AsyncClient()
    stale = slash_command("/echo", "hi", signing_secret=SIGNING_SECRET, timestamp=time.time() - 600)
    assert (await asend(client, stale)).status_code == 401
    tampered = slash_command("/echo", "hi", signing_secret=SIGNING_SECRET)
    headers = sign("something else", SIGNING_SECRET)
    assert (await asend(client, tampered.with_headers(headers))).status_code == 401


# --- OAuth: install page and callback of an AsyncApp --------------------------------------------------

async_oauth_app: AsyncApp | None = None


def make_async_oauth_app(tmp_path: Path) -> AsyncApp:
    """An AsyncApp with Bolt's AsyncOAuthFlow, installations and states stored under ``tmp_path``."""
    return AsyncApp(
        signing_secret=SIGNING_SECRET,
        oauth_settings=AsyncOAuthSettings(
            client_id="111.222",
            client_secret="client-secret",
            scopes=["commands", "chat:write"],
            redirect_uri="https://example.com/slack/oauth_redirect",
            installation_store=FileInstallationStore(base_dir=str(tmp_path / "installations")),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
        ),
    )


@pytest.fixture
def with_async_oauth_app(tmp_path, fake_slack):
    global async_oauth_app
    async_oauth_app = make_async_oauth_app(tmp_path)
    settings = {"APP": "tests.test_async_handler.async_oauth_app"}
    with (
        override_settings(SLACK_BOLT=settings, ROOT_URLCONF="tests.oauth_urls"),
        fake_slack.point_app(async_oauth_app),
    ):
        _reload_urls()
        yield async_oauth_app
    async_oauth_app = None
    _reload_urls()


OAUTH_ACCESS = {
    "ok": True,
    "app_id": "A0KRD7HC3",
    "authed_user": {"id": "U0AUTHED"},
    "scope": "commands,chat:write",
    "token_type": "bot",
    "access_token": "xoxb-installed-token",
    "bot_user_id": "U0KRQLJ9H",
    "team": {"id": "T0INSTALL", "name": "Installers"},
    "enterprise": None,
    "is_enterprise_install": False,
}


@pytest.mark.parametrize("suffix", ["", "/"])
@async_test
async def test_install_page_and_state_cookie(with_async_oauth_app, suffix):
    resp = await AsyncClient().get("/slack/install" + suffix)
    assert resp.status_code == 200
    assert b"client_id=111.222" in resp.content
    cookie = resp.cookies["slack-app-oauth-state"]
    assert (cookie["secure"], cookie["httponly"]) == (True, True)
    assert resolve("/slack/install").func.view_class.__name__ == "AsyncSlackInstallView"  # type: ignore[attr-defined]


# slack_sdk's AsyncWebClient sends the client credentials with aiohttp's BasicAuth (deprecated in 3.14).
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@async_test
async def test_oauth_callback_completes_an_installation(with_async_oauth_app, fake_slack, tmp_path):
    fake_slack.respond("oauth.v2.access", OAUTH_ACCESS)
    client = AsyncClient()
    install = await client.get("/slack/install")
    state = client.cookies["slack-app-oauth-state"].value
    assert f"state={state}".encode() in install.content

    resp = await client.get(f"/slack/oauth_redirect?code=the-code&state={state}")
    assert resp.status_code == 200, resp.content
    assert b"Thank you!" in resp.content
    access = fake_slack.last_call("oauth.v2.access")
    assert access.params["code"] == "the-code"
    authorization = {name.lower(): value for name, value in access.headers.items()}["authorization"]
    assert base64.b64decode(authorization.removeprefix("Basic ")) == b"111.222:client-secret"
    store = FileInstallationStore(base_dir=str(tmp_path / "installations"))
    installation = await store.async_find_installation(enterprise_id=None, team_id="T0INSTALL")
    assert installation is not None
    assert installation.bot_token == "xoxb-installed-token"
    # The state cookie is cleared once used, and the state cannot be replayed.
    cleared = resp.cookies["slack-app-oauth-state"]
    assert (cleared.value, cleared["expires"]) == ("deleted", "Thu, 01 Jan 1970 00:00:00 GMT")
    replay = await client.get(f"/slack/oauth_redirect?code=the-code&state={state}")
    assert replay.status_code == 400


@async_test
async def test_oauth_callback_with_denied_access_or_unknown_state(with_async_oauth_app):
    client = AsyncClient()
    denied = await client.get("/slack/oauth_redirect?error=access_denied&state=x")
    assert (denied.status_code, b"access_denied" in denied.content) == (200, True)
    forged = await client.get("/slack/oauth_redirect?code=abc&state=forged")
    assert forged.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/slack/install"), ("delete", "/slack/oauth_redirect")]
)
@async_test
async def test_wrong_method_on_oauth_pages_is_405(with_async_oauth_app, method, path):
    resp = await getattr(AsyncClient(), method)(path)
    assert resp.status_code == 405
    assert resp["Allow"] == "GET"


# --- the system check for an AsyncApp under WSGI (django_slack_bolt.W003) ---------------------------


def test_w003_async_app_without_asgi_application(settings):
    settings.SLACK_BOLT = {"APP": "tests.apps.async_slack_app.app"}
    settings.WSGI_APPLICATION = "myproject.wsgi.application"
    assert check_async_app_served_under_asgi() == [
        Warning(
            "The Slack app is an AsyncApp, but settings.ASGI_APPLICATION is not set "
            "(WSGI_APPLICATION = 'myproject.wsgi.application'): under a WSGI server each request's event "
            "loop is closed with its response, cancelling listeners that are still running after ack() "
            "and lazy listeners.",
            hint="Serve the project with an ASGI server (e.g. uvicorn myproject.asgi:application) and set "
            'ASGI_APPLICATION = "myproject.asgi.application" to say so; under WSGI, use a slack_bolt.App.',
            id="django_slack_bolt.W003",
        )
    ]
    # The app itself is fine: none of the other checks complain about an AsyncApp.
    assert check_settings() == []


def test_w003_is_silent_under_asgi_and_for_a_sync_app(settings):
    settings.SLACK_BOLT = {"APP": "tests.apps.async_slack_app.app"}
    settings.ASGI_APPLICATION = "myproject.asgi.application"
    assert check_async_app_served_under_asgi() == []
    del settings.ASGI_APPLICATION
    settings.SLACK_BOLT = {"APP": "tests.apps.slack_app.app"}
    assert check_async_app_served_under_asgi() == []
    settings.SLACK_BOLT = {"APP": "tests.apps.check_targets.not_an_app"}
    assert check_async_app_served_under_asgi() == []  # that one is E003's


def test_why_w003_exists_wsgi_cancels_listeners_still_running_after_ack(aserve):
    """Django's sync test client is a WSGI handler: the async view runs in a loop closed with the response."""
    finished = threading.Event()
    app = make_async_app()

    @app.command("/work")
    async def work(ack):  # type: ignore[no-untyped-def]
        await ack("accepted")
        await asyncio.sleep(0.05)
        finished.set()

    url = aserve(AsyncSlackRequestHandler(app).handle)
    resp = slash_command("/work", signing_secret=SIGNING_SECRET).post(Client(), url)
    assert (resp.status_code, resp.content) == (200, b"accepted")
    assert not finished.wait(0.5)  # cancelled with the request's event loop: it never finishes
