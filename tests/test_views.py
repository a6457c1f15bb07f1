"""The views and django_slack_bolt.urls, through the full request path (URLconf, middleware, CSRF)."""

from __future__ import annotations

import importlib

import django
import pytest
from django.test import Client, override_settings
from django.urls import clear_url_caches, reverse
from slack_bolt import App

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.http.views import SlackEventsView
from django_slack_bolt.testing import SlackTestClient, slash_command

from .support import SIGNING_SECRET, make_app, make_oauth_app


@pytest.fixture
def csrf_client() -> Client:
    """A client that enforces CSRF checks, as a real browser-less POST from Slack would face."""
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("path", ["/slack/events", "/slack/events/"])
def test_events_url_serves_with_and_without_trailing_slash_and_without_csrf_token(csrf_client, path):
    resp = slash_command("/echo", "csrf", signing_secret=SIGNING_SECRET).post(csrf_client, path)
    assert (resp.status_code, resp.content) == (200, b"echo: csrf")


def test_events_url_is_named():
    assert reverse("django_slack_bolt:events") == "/slack/events"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_on_events_is_405_with_allow(client, method):
    resp = getattr(client, method)("/slack/events")
    assert resp.status_code == 405
    assert set(resp["Allow"].split(", ")) == {"POST", "HEAD", "OPTIONS"}


def test_head_on_events_is_200_for_uptime_probes(client):
    resp = client.head("/slack/events")
    assert resp.status_code == 200
    assert resp.content == b""


def test_unknown_path_under_the_prefix_is_404(client):
    assert client.post("/slack/other").status_code == 404


@pytest.mark.skipif(django.VERSION < (5, 1), reason="LoginRequiredMiddleware exists from Django 5.1")
def test_views_are_exempt_from_login_required_middleware(client, settings):
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in settings.MIDDLEWARE
    resp = slash_command("/echo", "anon", signing_secret=SIGNING_SECRET).post(client, "/slack/events")
    assert resp.status_code == 200
    view = SlackEventsView.as_view()
    assert view.login_required is False  # type: ignore[attr-defined]
    assert view.csrf_exempt is True  # type: ignore[attr-defined]


# --- an OAuth app: install page and callback served under the include() prefix --------------------

oauth_app: App | None = None


@pytest.fixture
def with_oauth_app(tmp_path):
    global oauth_app
    oauth_app = make_oauth_app(tmp_path, redirect_uri="https://example.com/slack/oauth_redirect")
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    with override_settings(SLACK_BOLT={"APP": "tests.test_views.oauth_app"}, ROOT_URLCONF="tests.oauth_urls"):
        # django_slack_bolt.urls builds its patterns from the configured app at import time.
        importlib.reload(package_urls)
        importlib.reload(oauth_urls)
        clear_url_caches()
        yield oauth_app
    oauth_app = None
    importlib.reload(package_urls)
    importlib.reload(oauth_urls)
    clear_url_caches()


@pytest.mark.parametrize("suffix", ["", "/"])
def test_install_page_and_state_cookie(client, with_oauth_app, suffix):
    resp = client.get("/slack/install" + suffix)
    assert resp.status_code == 200
    assert b"https://slack.com/oauth/v2/authorize?state=" in resp.content
    assert b"client_id=111.222" in resp.content
    cookie = resp.cookies["slack-app-oauth-state"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert reverse("django_slack_bolt:install") == "/slack/install"


def test_oauth_callback_with_denied_access_shows_the_failure_page(client, with_oauth_app):
    resp = client.get("/slack/oauth_redirect?error=access_denied&state=x")
    assert resp.status_code == 200
    assert b"access_denied" in resp.content
    assert reverse("django_slack_bolt:oauth_redirect") == "/slack/oauth_redirect"


def test_oauth_callback_with_an_unknown_state_is_refused(client, with_oauth_app):
    resp = client.get("/slack/oauth_redirect?code=abc&state=forged")
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/slack/install"), ("delete", "/slack/oauth_redirect")]
)
def test_wrong_method_on_oauth_pages_is_405(client, with_oauth_app, method, path):
    resp = getattr(client, method)(path)
    assert resp.status_code == 405
    assert resp["Allow"] == "GET"


def test_events_view_can_serve_an_explicit_handler(serve):
    app = make_app()
    app.command("/own")(lambda ack: ack("own handler"))
    view = SlackEventsView.as_view(handler=SlackRequestHandler(app))
    slack = SlackTestClient(signing_secret=SIGNING_SECRET, events_path=serve(view))
    resp = slack.command("/own")
    assert (resp.status_code, resp.content) == (200, b"own handler")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=",
        "code=x&state=",
        "code=%ff%fe&state=%00",
        "error=%ff",
        "code=a&code=b&state=c&state=d",
        "state=" + "x" * 5000,
        "error=%3Cscript%3Ealert(1)%3C/script%3E",
    ],
)
@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect"])
def test_odd_oauth_queries_never_5xx_and_are_escaped(client, with_oauth_app, path, query):
    client.cookies["slack-app-oauth-state"] = "../../not-a-state"
    resp = client.get(f"{path}?{query}")
    assert resp.status_code in (200, 400)
    assert b"<script>alert(1)" not in resp.content
