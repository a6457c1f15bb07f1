"""The fast-ack listener runner: Bolt's semantics, without the 10 ms polling.

Each scenario runs through Django's full request path twice, once with our runner and once with Bolt's
polling one (``fast_ack=False``, the oracle), and both must answer the same.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

import pytest
from slack_bolt import App, BoltResponse

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.http.thread_runner import FastAckThreadListenerRunner
from django_slack_bolt.testing import SlackTestClient, block_action, options, view_submission

from .support import SIGNING_SECRET, make_app

# Each test sends the very same signed request to Bolt's runner and to ours, to compare the answers.
pytestmark = pytest.mark.usefixtures("allow_replays")


def _serve(serve, app: App, fast_ack: bool) -> SlackTestClient:  # type: ignore[no-untyped-def]
    """Serve ``app`` through Django; the client signs and posts Slack requests to it."""
    url = serve(SlackRequestHandler(app, fast_ack=fast_ack).handle)
    return SlackTestClient(signing_secret=SIGNING_SECRET, events_path=url)


def _both(serve, build: Callable[[], App]) -> dict[str, tuple[App, SlackTestClient]]:
    """The same app served twice: with our fast-ack runner and with Bolt's polling runner."""
    served = {}
    for name, fast_ack in (("fast", True), ("bolt", False)):
        app = build()
        served[name] = (app, _serve(serve, app, fast_ack))
    assert isinstance(served["fast"][0].listener_runner, FastAckThreadListenerRunner)
    assert not isinstance(served["bolt"][0].listener_runner, FastAckThreadListenerRunner)
    return served


def _summary(resp) -> tuple[int, bytes, str]:  # type: ignore[no-untyped-def]
    return resp.status_code, resp.content, resp.get("Content-Type", "")


def test_command_ack_text(serve):
    def build() -> App:
        app = make_app()
        app.command("/echo")(lambda ack, command: ack(f"echo: {command['text']}"))
        return app

    results = {
        name: _summary(slack.command("/echo", "hi")) for name, (_, slack) in _both(serve, build).items()
    }
    assert results["fast"] == results["bolt"]
    assert results["fast"][:2] == (200, b"echo: hi")


def test_block_action_and_view_submission_and_options_bodies(serve):
    def build() -> App:
        app = make_app()
        app.action("approve")(lambda ack: ack())
        app.view("form")(lambda ack: ack(response_action="errors", errors={"b1": "too short"}))
        app.options("pick")(
            lambda ack: ack(options=[{"text": {"type": "plain_text", "text": "One"}, "value": "1"}])
        )
        return app

    action = block_action("approve", "yes", signing_secret=SIGNING_SECRET)
    view = view_submission("form", signing_secret=SIGNING_SECRET)
    suggestion = options("pick", "o", signing_secret=SIGNING_SECRET)
    served = _both(serve, build)
    for request in (action, view, suggestion):
        results = {name: _summary(slack.send(request)) for name, (_, slack) in served.items()}
        assert results["fast"] == results["bolt"], request.payload["type"]
        assert results["fast"][0] == 200
    fast = served["fast"][1]
    view_resp = fast.send(view)
    assert view_resp.json() == {"response_action": "errors", "errors": {"b1": "too short"}}
    assert fast.send(suggestion).json()["options"][0]["value"] == "1"


def test_event_is_acknowledged_without_waiting_for_the_listener(serve):
    release = threading.Event()
    finished = threading.Event()

    def build() -> App:
        app = make_app()

        @app.event("app_mention")
        def slow(event):  # type: ignore[no-untyped-def]
            release.wait(5)
            finished.set()

        return app

    for _, slack in _both(serve, build).values():
        release.clear()
        finished.clear()
        resp = slack.app_mention("hello")
        assert (resp.status_code, resp.content) == (200, b"")
        assert not finished.is_set()  # answered while the listener is still running
        release.set()
        assert finished.wait(5)


def test_listener_error_before_ack_is_a_500_from_the_error_handler(serve):
    def build() -> App:
        app = make_app()

        @app.command("/boom")
        def boom(ack):  # type: ignore[no-untyped-def]
            raise ValueError("listener failed")

        return app

    results = {name: _summary(slack.command("/boom")) for name, (_, slack) in _both(serve, build).items()}
    assert results["fast"] == results["bolt"]
    assert results["fast"][0] == 500


def test_custom_error_handler_response_is_used(serve):
    def build() -> App:
        app = make_app()

        @app.command("/boom")
        def boom(ack):  # type: ignore[no-untyped-def]
            raise ValueError("listener failed")

        @app.error
        def on_error(error, response):  # type: ignore[no-untyped-def]
            response.status = 503
            response.body = f"handled: {error}"

        return app

    results = {name: _summary(slack.command("/boom")) for name, (_, slack) in _both(serve, build).items()}
    assert results["fast"] == results["bolt"]
    assert results["fast"][:2] == (503, b"handled: listener failed")


def test_error_after_ack_keeps_the_ack(serve):
    def build() -> App:
        app = make_app()

        @app.command("/half")
        def half(ack):  # type: ignore[no-untyped-def]
            ack("accepted")
            raise ValueError("after ack")

        return app

    results = {name: _summary(slack.command("/half")) for name, (_, slack) in _both(serve, build).items()}
    assert results["fast"][:2] == (200, b"accepted")
    # Bolt's error path clears ack.response after the ack; its polling loop answers 200 only if it looked
    # in between, otherwise it waits out ack_timeout and answers 404. Ours always keeps the first answer.
    assert results["bolt"] == results["fast"] or results["bolt"][0] == 404


def test_listener_that_never_acks_times_out_with_bolts_warning(serve, caplog):
    def build() -> App:
        app = make_app()
        app.command("/silent")(lambda body: None)
        app._listeners[-1].ack_timeout = 0.3  # type: ignore[assignment]
        return app

    served = _both(serve, build)
    results = {}
    for name, (_, slack) in served.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            results[name] = _summary(slack.command("/silent"))
            elapsed = time.monotonic() - started
        assert "didn't call ack()" in caplog.text
        assert elapsed >= 0.3  # waited for ack_timeout before giving up
    assert results["fast"] == results["bolt"]
    assert results["fast"][0] == 404  # Bolt's answer once no listener acknowledged


def test_lazy_listeners_run_after_the_ack(serve):
    ran: dict[str, threading.Event] = {"fast": threading.Event(), "bolt": threading.Event()}

    def build_for(name: str) -> Callable[[], App]:
        def build() -> App:
            app = make_app()

            def lazy(command):  # type: ignore[no-untyped-def]
                assert command["text"] == "later"
                ran[name].set()

            app.command("/later")(ack=lambda ack: ack("queued"), lazy=[lazy])
            return app

        return build

    for name, fast_ack in (("fast", True), ("bolt", False)):
        slack = _serve(serve, build_for(name)(), fast_ack)
        resp = slack.command("/later", "later")
        assert (resp.status_code, resp.content) == (200, b"queued")
        assert ran[name].wait(5)


def test_start_and_completion_handlers_run_for_each_listener(serve, caplog):
    def build() -> App:
        app = make_app()
        app.command("/echo")(lambda ack: ack("ok"))
        app.logger.setLevel(logging.DEBUG)
        return app

    app, slack = _both(serve, build)["fast"]
    with caplog.at_level(logging.DEBUG):
        assert slack.command("/echo").status_code == 200
        app.listener_runner.listener_executor.shutdown(wait=True)
    assert "execution timing: listener-start" in caplog.text
    assert "execution timing: listener-completion" in caplog.text


def test_ack_is_answered_while_the_listener_keeps_the_cpu_busy(serve):
    """After ack() the listener thread hands the GIL to the request thread, so Slack is answered at once.

    With the interpreter's switch interval raised to 1 s, a listener thread that kept the GIL after
    ack() would hold the request thread back for a whole second of its CPU-bound work.
    """
    stop = threading.Event()
    app = make_app()

    @app.command("/crunch")
    def crunch(ack):  # type: ignore[no-untyped-def]
        ack("working on it")
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            pass  # CPU-bound work that never releases the GIL by itself

    app.command("/warm-up")(lambda ack: ack())
    slack = _serve(serve, app, fast_ack=True)
    slack.command("/warm-up")  # URL resolution and first-use imports, at the normal switch interval
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        started = time.monotonic()
        resp = slack.command("/crunch")
        answered_after = time.monotonic() - started
    finally:
        stop.set()
        sys.setswitchinterval(previous)
    app.listener_runner.listener_executor.shutdown(wait=True)
    assert (resp.status_code, resp.content) == (200, b"working on it")
    assert answered_after < 0.5


@pytest.mark.parametrize(("fast_ack", "expect_polling"), [(True, False), (False, True)])
def test_waiting_for_ack_does_not_poll(serve, monkeypatch, fast_ack, expect_polling):
    """Bolt's runner sleeps 10 ms at a time until ack(); ours wakes on the ack itself."""
    import slack_bolt.listener.thread_runner as bolt_thread_runner

    sleeps: list[float] = []
    real_sleep = time.sleep

    def counting_sleep(seconds: float) -> None:
        if threading.current_thread() is request_thread:
            sleeps.append(seconds)
        real_sleep(seconds)

    app = make_app()

    @app.command("/slowack")
    def slow_ack(ack):  # type: ignore[no-untyped-def]
        threading.Event().wait(0.05)  # the listener takes a moment before acknowledging
        ack("done")

    slack = _serve(serve, app, fast_ack)
    request_thread = threading.current_thread()
    monkeypatch.setattr(bolt_thread_runner.time, "sleep", counting_sleep)
    resp = slack.command("/slowack")
    assert (resp.status_code, resp.content) == (200, b"done")
    assert bool(sleeps) is expect_polling


def test_middleware_response_wins_like_in_bolt(serve):
    def build() -> App:
        app = make_app()

        def add_header(next, resp):  # type: ignore[no-untyped-def]
            next()
            return resp

        @app.command("/echo", middleware=[add_header])
        def echo(ack):  # type: ignore[no-untyped-def]
            ack("from ack")

        return app

    results = {name: _summary(slack.command("/echo")) for name, (_, slack) in _both(serve, build).items()}
    assert results["fast"] == results["bolt"]


def test_signalling_ack_survives_the_lazy_listener_copy():
    import copy

    from django_slack_bolt.http.thread_runner import SignallingAck

    ack = SignallingAck()
    ack("hello")
    copied = copy.deepcopy(ack)
    assert copied is not ack
    assert isinstance(copied.response, BoltResponse)
    assert copied.response.body == "hello"
