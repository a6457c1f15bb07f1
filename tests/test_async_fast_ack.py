"""The async fast-ack runner: Bolt's AsyncioListenerRunner semantics, without the 10 ms polling.

Each scenario runs through Django's async request path (AsyncClient, the URLconf, an async view) twice,
once with our runner and once with Bolt's polling one (``fast_ack=False``, the oracle), and both must
answer the same.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import statistics
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.test import AsyncClient
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp

from django_slack_bolt import AsyncSlackRequestHandler
from django_slack_bolt.http.asyncio_runner import FastAckAsyncioListenerRunner, SignallingAsyncAck
from django_slack_bolt.testing import (
    SlackRequest,
    app_mention,
    block_action,
    options,
    slash_command,
    view_submission,
)

from .async_support import asend, async_test, make_async_app
from .support import SIGNING_SECRET

# Each test sends the very same signed request to Bolt's runner and to ours, to compare the answers.
pytestmark = pytest.mark.usefixtures("allow_replays")

Served = dict[str, tuple[AsyncApp, str]]


def _both(aserve, build: Callable[[], AsyncApp]) -> Served:  # type: ignore[no-untyped-def]
    """The same app served twice: with our fast-ack runner and with Bolt's polling runner."""
    served = {}
    for name, fast_ack in (("fast", True), ("bolt", False)):
        app = build()
        served[name] = (app, aserve(AsyncSlackRequestHandler(app, fast_ack=fast_ack).handle))
    assert isinstance(served["fast"][0].listener_runner, FastAckAsyncioListenerRunner)
    assert not isinstance(served["bolt"][0].listener_runner, FastAckAsyncioListenerRunner)
    return served


def _summary(resp) -> tuple[int, bytes, str]:  # type: ignore[no-untyped-def]
    return resp.status_code, resp.content, resp.get("Content-Type", "")


async def _results(served: Served, request: SlackRequest) -> dict[str, tuple[int, bytes, str]]:
    client = AsyncClient()
    return {name: _summary(await asend(client, request, url)) for name, (_, url) in served.items()}


def _command(text: str = "", name: str = "/echo") -> SlackRequest:
    return slash_command(name, text, signing_secret=SIGNING_SECRET)


@async_test
async def test_command_ack_text(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.command("/echo")
        async def echo(ack, command):  # type: ignore[no-untyped-def]
            await ack(f"echo: {command['text']}")

        return app

    results = await _results(_both(aserve, build), _command("hi"))
    assert results["fast"] == results["bolt"]
    assert results["fast"][:2] == (200, b"echo: hi")


@async_test
async def test_block_action_view_submission_and_options_bodies(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.action("approve")
        async def approve(ack):  # type: ignore[no-untyped-def]
            await ack()

        @app.view("form")
        async def form(ack):  # type: ignore[no-untyped-def]
            await ack(response_action="errors", errors={"b1": "too short"})

        @app.options("pick")
        async def pick(ack):  # type: ignore[no-untyped-def]
            await ack(options=[{"text": {"type": "plain_text", "text": "One"}, "value": "1"}])

        return app

    served = _both(aserve, build)
    for request in (
        block_action("approve", "yes", signing_secret=SIGNING_SECRET),
        view_submission("form", signing_secret=SIGNING_SECRET),
        options("pick", "o", signing_secret=SIGNING_SECRET),
    ):
        results = await _results(served, request)
        assert results["fast"] == results["bolt"], request.payload["type"]
        assert results["fast"][0] == 200
    assert (
        b'"too short"'
        in (await _results(served, view_submission("form", signing_secret=SIGNING_SECRET)))["fast"][1]
    )


@async_test
async def test_event_is_acknowledged_without_waiting_for_the_listener(aserve):
    release = asyncio.Event()
    finished = asyncio.Event()

    def build() -> AsyncApp:
        app = make_async_app()

        @app.event("app_mention")
        async def slow(event):  # type: ignore[no-untyped-def]
            await release.wait()
            finished.set()

        return app

    for _, url in _both(aserve, build).values():
        release.clear()
        finished.clear()
        resp = await asend(AsyncClient(), app_mention("hello", signing_secret=SIGNING_SECRET), url)
        assert (resp.status_code, resp.content) == (200, b"")
        assert not finished.is_set()  # answered while the listener is still running
        release.set()
        await asyncio.wait_for(finished.wait(), 5)


@async_test
async def test_listener_error_before_ack_is_a_500_from_the_error_handler(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.command("/boom")
        async def boom(ack):  # type: ignore[no-untyped-def]
            raise ValueError("listener failed")

        return app

    logging.disable(logging.CRITICAL)  # Bolt's default error handler logs the traceback
    try:
        results = await _results(_both(aserve, build), _command(name="/boom"))
    finally:
        logging.disable(logging.NOTSET)
    assert results["fast"] == results["bolt"]
    assert results["fast"][0] == 500


@async_test
async def test_custom_error_handler_response_is_used(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.command("/boom")
        async def boom(ack):  # type: ignore[no-untyped-def]
            raise ValueError("listener failed")

        @app.error
        async def on_error(error, response):  # type: ignore[no-untyped-def]
            response.status = 503
            response.body = f"handled: {error}"

        return app

    results = await _results(_both(aserve, build), _command(name="/boom"))
    assert results["fast"] == results["bolt"]
    assert results["fast"][:2] == (503, b"handled: listener failed")


@async_test
async def test_error_after_ack_keeps_the_ack(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.command("/half")
        async def half(ack):  # type: ignore[no-untyped-def]
            await ack("accepted")
            await asyncio.sleep(0.02)
            raise ValueError("after ack")

        app._async_listeners[-1].ack_timeout = 1  # type: ignore[assignment]
        return app

    logging.disable(logging.CRITICAL)
    try:
        results = await _results(_both(aserve, build), _command(name="/half"))
    finally:
        logging.disable(logging.NOTSET)
    assert results["fast"][:2] == (200, b"accepted")
    # Bolt's error path clears ack.response after the ack; its polling loop answers 200 only if it looked
    # in between (here it does: the error comes 20 ms later), else it answers 404 at ack_timeout.
    assert results["bolt"] == results["fast"] or results["bolt"][0] == 404


@async_test
async def test_listener_that_never_acks_times_out_with_bolts_warning(aserve, caplog):
    def build() -> AsyncApp:
        app = make_async_app()

        @app.command("/silent")
        async def silent(body):  # type: ignore[no-untyped-def]
            pass

        app._async_listeners[-1].ack_timeout = 0.3  # type: ignore[assignment]
        return app

    results = {}
    for name, (_, url) in _both(aserve, build).items():
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            results[name] = _summary(await asend(AsyncClient(), _command(name="/silent"), url))
            elapsed = time.monotonic() - started
        assert "didn't call ack()" in caplog.text
        assert elapsed >= 0.3  # waited for ack_timeout before giving up
    assert results["fast"] == results["bolt"]
    assert results["fast"][0] == 404  # Bolt's answer once no listener acknowledged


@async_test
async def test_lazy_listeners_run_after_the_ack(aserve):
    ran = {"fast": asyncio.Event(), "bolt": asyncio.Event()}

    def build_for(name: str) -> Callable[[], AsyncApp]:
        def build() -> AsyncApp:
            app = make_async_app()

            async def acknowledge(ack):  # type: ignore[no-untyped-def]
                await ack("queued")

            async def lazy(command):  # type: ignore[no-untyped-def]
                assert command["text"] == "later"
                ran[name].set()

            app.command("/later")(ack=acknowledge, lazy=[lazy])
            return app

        return build

    for name, fast_ack in (("fast", True), ("bolt", False)):
        url = aserve(AsyncSlackRequestHandler(build_for(name)(), fast_ack=fast_ack).handle)
        resp = await asend(AsyncClient(), _command("later", "/later"), url)
        assert (resp.status_code, resp.content) == (200, b"queued")
        await asyncio.wait_for(ran[name].wait(), 5)


@async_test
async def test_completion_handler_and_lazy_runner_release_connections(aserve, caplog):
    lazy_done = asyncio.Event()
    app = make_async_app()
    app.logger.setLevel(logging.DEBUG)

    async def acknowledge(ack):  # type: ignore[no-untyped-def]
        await ack("ok")

    async def lazy():  # type: ignore[no-untyped-def]
        lazy_done.set()

    app.command("/echo")(ack=acknowledge, lazy=[lazy])
    url = aserve(AsyncSlackRequestHandler(app).handle)
    with caplog.at_level(logging.DEBUG):
        resp = await asend(AsyncClient(), _command(), url)
        await asyncio.wait_for(lazy_done.wait(), 5)
        for _ in range(100):  # the releases run after the listeners, in the ORM's thread
            if caplog.text.count("execution timing:") >= 2:
                break
            await asyncio.sleep(0.01)
    assert (resp.status_code, resp.content) == (200, b"ok")
    assert "execution timing: listener-completion" in caplog.text
    assert "execution timing: lazy-listener-completion" in caplog.text


@async_test
async def test_process_before_response_runs_the_listener_before_answering(aserve):
    finished: list[str] = []

    def build() -> AsyncApp:
        app = make_async_app(process_before_response=True)

        @app.command("/whole")
        async def whole(ack, command):  # type: ignore[no-untyped-def]
            await ack(f"done: {command['text']}")
            await asyncio.sleep(0.05)
            finished.append(command["text"])

        return app

    served = _both(aserve, build)
    results = await _results(served, _command("x", "/whole"))
    assert results["fast"] == results["bolt"]
    assert results["fast"][:2] == (200, b"done: x")
    assert finished == ["x", "x"]  # each listener had finished before its answer


@async_test
async def test_middleware_response_wins_like_in_bolt(aserve):
    def build() -> AsyncApp:
        app = make_async_app()

        async def pass_through(next, resp):  # type: ignore[no-untyped-def]
            await next()
            return resp

        @app.command("/echo", middleware=[pass_through])
        async def echo(ack):  # type: ignore[no-untyped-def]
            await ack("from ack")

        return app

    results = await _results(_both(aserve, build), _command())
    assert results["fast"] == results["bolt"]


@pytest.mark.parametrize(("fast_ack", "expect_polling"), [(True, False), (False, True)])
@async_test
async def test_waiting_for_ack_does_not_poll(aserve, monkeypatch, fast_ack, expect_polling):
    """Bolt's runner sleeps 10 ms at a time until ack(); ours wakes on the ack itself."""
    import slack_bolt.listener.asyncio_runner as bolt_asyncio_runner

    sleeps: list[float] = []

    async def counting_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(seconds)

    app = make_async_app()

    @app.command("/slowack")
    async def slow_ack(ack):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)  # the listener takes a moment before acknowledging
        await ack("done")

    url = aserve(AsyncSlackRequestHandler(app, fast_ack=fast_ack).handle)
    monkeypatch.setattr(
        bolt_asyncio_runner,
        "asyncio",
        SimpleNamespace(sleep=counting_sleep, ensure_future=asyncio.ensure_future),
    )
    resp = await asend(AsyncClient(), _command(name="/slowack"), url)
    assert (resp.status_code, resp.content) == (200, b"done")
    assert bool(sleeps) is expect_polling


async def _timed(url: str, request: SlackRequest) -> tuple[float, tuple[int, bytes, str]]:
    started = time.perf_counter()
    resp = await asend(AsyncClient(), request, url)
    return time.perf_counter() - started, _summary(resp)


@async_test
async def test_ack_then_a_second_of_work_is_answered_at_once_and_the_work_goes_on(aserve):
    """The answer comes when ack() is called, not when the listener ends; Bolt's polling runner is the
    control: it answers too, but only at its next 10 ms poll."""
    finished: dict[str, int] = {"fast": 0, "bolt": 0}

    def build_for(name: str) -> Callable[[], AsyncApp]:
        def build() -> AsyncApp:
            app = make_async_app()

            @app.command("/work")
            async def work(ack):  # type: ignore[no-untyped-def]
                await ack("on it")
                await asyncio.sleep(1)
                finished[name] += 1

            return app

        return build

    urls = {}
    for name, fast_ack in (("fast", True), ("bolt", False)):
        urls[name] = aserve(AsyncSlackRequestHandler(build_for(name)(), fast_ack=fast_ack).handle)
        await _timed(urls[name], _command(name="/work"))  # warm-up: first-use imports
    rounds = 10
    times: dict[str, list[float]] = {"fast": [], "bolt": []}
    for _ in range(rounds):
        for name, url in urls.items():
            elapsed, summary = await _timed(url, _command(name="/work"))
            assert summary[:2] == (200, b"on it")
            times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        "async ack-then-1s-of-work, answer time (ms): "
        + ", ".join(
            f"{name} median {medians[name] * 1000:.2f} max {max(times[name]) * 1000:.2f}" for name in times
        )
    )
    assert max(times["fast"]) < 0.25  # well before the listener's 1 s of work ends
    assert min(times["bolt"]) >= 0.01  # the control: Bolt waits at least one 10 ms poll
    assert medians["fast"] < medians["bolt"]
    # The listeners were still working when answered; they go on and finish.
    assert finished == {"fast": 0, "bolt": 0}
    deadline = time.monotonic() + 5
    while finished != {"fast": rounds + 1, "bolt": rounds + 1} and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert finished == {"fast": rounds + 1, "bolt": rounds + 1}


# --- the signalling ack itself ---------------------------------------------------------------------


def test_signalling_ack_survives_the_lazy_listener_copy():
    ack = SignallingAsyncAck()
    asyncio.run(ack("hello"))
    copied = copy.deepcopy(ack)
    assert copied is not ack
    assert isinstance(copied.response, BoltResponse)
    assert copied.response.body == "hello"


@async_test
async def test_ack_from_another_thread_wakes_the_waiting_request():
    ack = SignallingAsyncAck()
    threading.Timer(
        0.05, lambda: setattr(ack, "response", BoltResponse(status=200, body="from a thread"))
    ).start()
    started = time.monotonic()
    answered = await ack.wait(5)
    assert answered is not None
    assert answered.body == "from a thread"
    assert time.monotonic() - started < 1


@async_test
async def test_the_first_answer_is_kept_when_bolts_error_path_clears_it():
    ack = SignallingAsyncAck()
    waiting = asyncio.ensure_future(ack.wait(5))
    await asyncio.sleep(0)
    await ack("first")
    ack.response = None  # what Bolt's error path does after an ack
    answered = await waiting
    assert answered is not None
    assert answered.body == "first"


@async_test
async def test_wait_times_out_without_an_ack():
    started = time.monotonic()
    assert await SignallingAsyncAck().wait(0.1) is None
    assert time.monotonic() - started >= 0.1
