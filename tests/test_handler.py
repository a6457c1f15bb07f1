"""The drop-in adapter API: conversions, connection release, and what SlackRequestHandler installs."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest
from django.db import connections
from django.test import RequestFactory
from slack_bolt import BoltResponse
from slack_bolt.adapter.django import handler as bolt_handler
from slack_bolt.error import BoltError
from slack_bolt.lazy_listener import ThreadLazyListenerRunner
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_bolt.listener.listener_start_handler import ListenerStartHandler
from slack_bolt.listener.thread_runner import ThreadListenerRunner

import django_slack_bolt
from django_slack_bolt import handler as ours
from django_slack_bolt.http.thread_runner import FastAckThreadListenerRunner
from django_slack_bolt.testing import slash_command

from .support import SIGNING_SECRET, make_app, make_oauth_app


def test_top_level_reexports_the_whole_adapter_api():
    for name in (
        "to_bolt_request",
        "to_django_response",
        "release_thread_local_connections",
        "DjangoListenerStartHandler",
        "DjangoListenerCompletionHandler",
        "DjangoThreadLazyListenerRunner",
        "SlackRequestHandler",
    ):
        assert getattr(django_slack_bolt, name) is getattr(ours, name)
        assert hasattr(bolt_handler, name), f"{name} is not part of Bolt's adapter API"


def test_to_bolt_request_decodes_body_query_and_headers():
    req = RequestFactory().post(
        "/slack/events?a=1&b=two",
        data=b"text=caf%C3%A9&x=%E2%9C%93",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_SIGNATURE="v0=abc",
    )
    bolt_req = ours.to_bolt_request(req)
    assert bolt_req.raw_body == "text=caf%C3%A9&x=%E2%9C%93"
    assert bolt_req.body == {"text": "café", "x": "✓"}
    assert bolt_req.query == {"a": ["1"], "b": ["two"]}
    assert bolt_req.headers["x-slack-signature"] == ["v0=abc"]
    assert bolt_req.content_type == "application/x-www-form-urlencoded"
    oracle = bolt_handler.to_bolt_request(req)
    assert (oracle.raw_body, oracle.body, oracle.query) == (bolt_req.raw_body, bolt_req.body, bolt_req.query)


def test_to_bolt_request_empty_body_is_empty_string():
    bolt_req = ours.to_bolt_request(RequestFactory().get("/slack/install"))
    assert bolt_req.raw_body == ""
    assert bolt_req.body == {}


def test_to_django_response_status_body_and_first_header_values():
    bolt_resp = BoltResponse(
        status=201,
        body="héllo",
        headers={"content-type": ["text/plain; charset=utf-8"], "x-multi": ["first", "second"]},
    )
    resp = ours.to_django_response(bolt_resp)
    assert resp.status_code == 201
    assert resp.content == "héllo".encode()
    assert resp["Content-Type"] == "text/plain; charset=utf-8"
    assert resp["X-Multi"] == "first"


def test_to_django_response_cookies_keep_every_attribute():
    bolt_resp = BoltResponse(
        status=200,
        body="",
        headers={
            "set-cookie": [
                "state=abc; Secure; HttpOnly; Path=/slack; Domain=example.com; Max-Age=600",
                "plain=1; Path=/; Expires=Thu, 01 Jan 2099 00:00:00 GMT",
            ]
        },
    )
    resp = ours.to_django_response(bolt_resp)
    state = resp.cookies["state"]
    assert state.value == "abc"
    assert state["max-age"] == 600
    assert state["path"] == "/slack"
    assert state["domain"] == "example.com"
    assert state["secure"] is True
    assert state["httponly"] is True
    plain = resp.cookies["plain"]
    assert plain["expires"] == "Thu, 01 Jan 2099 00:00:00 GMT"
    # Unlike Bolt's adapter, a cookie that is not Secure/HttpOnly stays that way.
    assert not plain["secure"]
    assert not plain["httponly"]
    assert "Set-Cookie" not in resp.headers


def test_to_django_response_matches_bolt_for_bolts_own_oauth_cookie():
    bolt_resp = BoltResponse(
        status=302,
        body="",
        headers={
            "location": ["https://slack.com/oauth/v2/authorize?state=s1"],
            "set-cookie": ["slack-app-oauth-state=s1; Secure; HttpOnly; Path=/; Max-Age=600"],
        },
    )
    ours_resp = ours.to_django_response(bolt_resp)
    oracle = bolt_handler.to_django_response(bolt_resp)
    assert ours_resp.status_code == oracle.status_code
    assert ours_resp["Location"] == oracle["Location"]
    ours_cookie = SimpleCookie(ours_resp.cookies.output(header="", sep="\n"))
    oracle_cookie = SimpleCookie(oracle.cookies.output(header="", sep="\n"))
    for attr in ("max-age", "path", "secure", "httponly"):
        assert ours_cookie["slack-app-oauth-state"][attr] == oracle_cookie["slack-app-oauth-state"][attr]


@pytest.mark.django_db(transaction=True)
def test_release_thread_local_connections_closes_a_threads_stale_connection(caplog):
    logger = logging.getLogger("test.release")
    logger.setLevel(logging.DEBUG)
    seen: dict[str, object] = {}

    def in_worker() -> None:
        conn = connections["default"]
        conn.ensure_connection()
        seen["opened"] = conn.connection is not None
        conn.close_at = 0  # past its CONN_MAX_AGE
        ours.release_thread_local_connections(logger, "listener-completion")
        seen["closed"] = conn.connection is None

    with caplog.at_level(logging.DEBUG, logger="test.release"):
        worker = threading.Thread(target=in_worker, name="bolt-worker-7")
        worker.start()
        worker.join()
    assert seen == {"opened": True, "closed": True}
    assert "thread name: bolt-worker-7" in caplog.text
    assert "execution timing: listener-completion" in caplog.text


def test_release_thread_local_connections_is_quiet_above_debug(caplog):
    logger = logging.getLogger("test.release.quiet")
    logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger="test.release.quiet"):
        ours.release_thread_local_connections(logger, "listener-start")
    assert caplog.text == ""


def test_handler_installs_fast_ack_runner_lazy_runner_and_connection_handlers():
    app = make_app()
    executor = app.listener_runner.listener_executor
    ours.SlackRequestHandler(app)
    runner = app.listener_runner
    assert isinstance(runner, FastAckThreadListenerRunner)
    assert runner.listener_executor is executor
    assert isinstance(runner.lazy_listener_runner, ours.DjangoThreadLazyListenerRunner)
    # Lazy listeners have threads of their own: ack functions never wait behind them.
    assert runner.lazy_listener_runner.executor is not executor
    assert runner.lazy_listener_runner.executor._max_workers == 10
    assert isinstance(runner.listener_start_handler, ours.DjangoListenerStartHandler)
    assert isinstance(runner.listener_completion_handler, ours.DjangoListenerCompletionHandler)


def test_handler_can_keep_bolts_polling_runner():
    app = make_app()
    ours.SlackRequestHandler(app, fast_ack=False)
    assert type(app.listener_runner) is ThreadListenerRunner
    assert isinstance(app.listener_runner.lazy_listener_runner, ours.DjangoThreadLazyListenerRunner)


def test_fast_ack_setting_false_keeps_bolts_runner(settings):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "FAST_ACK": False}
    app = make_app()
    ours.SlackRequestHandler(app)
    assert type(app.listener_runner) is ThreadListenerRunner


def test_wrapping_twice_is_harmless():
    app = make_app()
    ours.SlackRequestHandler(app)
    runner = app.listener_runner
    ours.SlackRequestHandler(app)
    assert app.listener_runner is runner
    assert isinstance(runner.listener_start_handler, ours.DjangoListenerStartHandler)


def test_process_before_response_installs_only_the_lazy_runner():
    app = make_app(process_before_response=True)
    start, completion = (
        app.listener_runner.listener_start_handler,
        app.listener_runner.listener_completion_handler,
    )
    ours.SlackRequestHandler(app)
    assert isinstance(app.listener_runner.lazy_listener_runner, ours.DjangoThreadLazyListenerRunner)
    assert app.listener_runner.listener_start_handler is start
    assert app.listener_runner.listener_completion_handler is completion


class _OwnStart(ListenerStartHandler):
    def handle(self, request, response):  # type: ignore[no-untyped-def]
        pass


class _OwnCompletion(ListenerCompletionHandler):
    def handle(self, request, response):  # type: ignore[no-untyped-def]
        pass


def test_custom_start_and_completion_handlers_are_kept_and_the_user_is_told(caplog):
    app = make_app()
    app.listener_runner.listener_start_handler = _OwnStart()
    app.listener_runner.listener_completion_handler = _OwnCompletion()
    app.logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        ours.SlackRequestHandler(app)
    assert isinstance(app.listener_runner.listener_start_handler, _OwnStart)
    assert isinstance(app.listener_runner.listener_completion_handler, _OwnCompletion)
    assert "close_old_connections()" in caplog.text
    assert "listener_start_handler is already your own" in caplog.text
    assert "listener_completion_handler is already your own" in caplog.text


def test_non_thread_runner_is_refused_before_the_app_is_touched():
    app = make_app()

    class NotAThreadRunner:
        lazy_listener_runner = ThreadLazyListenerRunner(logging.getLogger("x"), ThreadPoolExecutor(1))

    original_lazy = NotAThreadRunner.lazy_listener_runner
    app._listener_runner = NotAThreadRunner()  # type: ignore[assignment]
    with pytest.raises(BoltError, match="not compatible"):
        ours.SlackRequestHandler(app)
    assert app.listener_runner.lazy_listener_runner is original_lazy


def test_lazy_runner_releases_connections_around_each_lazy_listener(caplog):
    done = threading.Event()
    app = make_app()
    app.logger.setLevel(logging.DEBUG)

    def lazy(body):  # type: ignore[no-untyped-def]
        done.set()

    app.command("/lazy")(ack=lambda ack: ack("ok"), lazy=[lazy])
    handler = ours.SlackRequestHandler(app)
    req = slash_command("/lazy", "hi", signing_secret=SIGNING_SECRET).post(RequestFactory(), "/slack/events")
    with caplog.at_level(logging.DEBUG):
        resp = handler.handle(req)
        assert done.wait(5)
        # Lazy listeners have threads of their own: once they are done, the lazy listener's finally has run.
        app.listener_runner.lazy_listener_runner.executor.shutdown(wait=True)
    assert resp.status_code == 200
    assert "execution timing: before-lazy-listener" in caplog.text
    assert "execution timing: lazy-listener-completion" in caplog.text


def test_handle_routes_like_bolts_adapter(tmp_path):
    app = make_oauth_app(tmp_path)
    handler = ours.SlackRequestHandler(app)
    factory = RequestFactory()

    install = handler.handle(factory.get("/slack/install"))
    assert install.status_code == 200
    assert b"slack.com/oauth/v2/authorize" in install.content
    assert "slack-app-oauth-state" in install.cookies

    callback = handler.handle(factory.get("/slack/oauth_redirect?error=access_denied"))
    assert callback.status_code == 200
    assert b"access_denied" in callback.content

    assert handler.handle(factory.get("/elsewhere")).status_code == 404
    assert handler.handle(factory.put("/slack/events")).status_code == 404
    assert handler.handle(factory.delete("/slack/install")).status_code == 404

    forged = slash_command("/unknown", "hi", signing_secret="not-the-secret")
    posted = handler.handle(forged.post(factory, "/slack/events"))
    assert posted.status_code == 401


def test_handle_without_oauth_flow_answers_get_with_404():
    handler = ours.SlackRequestHandler(make_app())
    assert handler.handle(RequestFactory().get("/slack/install")).status_code == 404


def test_bolt_does_not_verify_a_signature_the_guard_already_checked(monkeypatch):
    from slack_sdk.signature import SignatureVerifier

    checks: list[str] = []
    real_is_valid = SignatureVerifier.is_valid

    def counting_is_valid(self, body, timestamp, signature):  # type: ignore[no-untyped-def]
        checks.append(timestamp)
        return real_is_valid(self, body, timestamp, signature)

    monkeypatch.setattr(SignatureVerifier, "is_valid", counting_is_valid)
    app = make_app()
    app.command("/echo")(lambda ack: ack("once"))
    handler = ours.SlackRequestHandler(app)
    resp = handler.handle(slash_command("/echo", signing_secret=SIGNING_SECRET).post(RequestFactory()))
    assert (resp.status_code, resp.content) == (200, b"once")
    assert len(checks) == 1


def test_the_app_still_verifies_requests_dispatched_to_it_directly():
    from slack_bolt.request import BoltRequest

    app = make_app()
    app.command("/echo")(lambda ack: ack("reached"))
    ours.SlackRequestHandler(app)
    unsigned = slash_command("/echo", signing_secret=None)
    bolt_resp = app.dispatch(BoltRequest(body=unsigned.body, headers={"content-type": unsigned.content_type}))
    assert bolt_resp.status == 401
    forged = BoltRequest(
        body=unsigned.body,
        headers={"content-type": unsigned.content_type},
        context={"django_slack_bolt_signature_verified": False},
    )
    assert app.dispatch(forged).status == 401
    signed = slash_command("/echo", signing_secret=SIGNING_SECRET)
    assert app.dispatch(BoltRequest(body=signed.body, headers=signed.headers)).status == 200
