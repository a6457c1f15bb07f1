"""Database connection hygiene of an AsyncApp: on a real PostgreSQL server, under a real uvicorn.

Async listeners and lazy listeners outlive the request they came with. Under ASGI Django runs each
request's thread-sensitive sync code (the ORM, ``aget()`` and ``sync_to_async`` alike) in a thread of
that request, which asgiref retires once Django is done; ORM calls a listener makes later get a thread
that only the garbage collector ends, and the connections such threads hold are closed by nobody. So
:class:`~django_slack_bolt.http.async_handler.AsyncSlackRequestHandler` gives every listener and lazy
listener an ORM thread of its own, and closes that thread's connections when the listener ends
(:class:`~django_slack_bolt.http.connections.ListenerOrmThread`).

The proof: a uvicorn process serves tests/apps/async_db_slack_app.py on the test database, with the
garbage collector off (whatever is closed was closed on purpose). After every batch of requests whose
listeners and lazy listeners query the database (async ORM and sync ORM through ``sync_to_async``),
the server's connections (pg_stat_activity, told apart by their ``application_name``) are back to zero,
with ``CONN_MAX_AGE`` 0 and 60; the control, the same listeners in a plain AsyncApp behind a naive
async view, leaves connections open, more with every batch. Run with ``-s`` for the figures.

In-process tests, on any database, show the mechanism (each listener's ORM calls in one thread of its
own, ended with its connections closed; under ``async_to_sync``, as in Django's async tests, the test's
thread and transaction instead) and what the handler installs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import requests
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections
from django.test import RequestFactory
from slack_bolt.listener.async_listener_completion_handler import AsyncListenerCompletionHandler
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler

from django_slack_bolt.http.async_handler import (
    AsyncDjangoListenerCompletionHandler,
    AsyncDjangoListenerStartHandler,
    AsyncSlackRequestHandler,
)
from django_slack_bolt.http.connections import ListenerOrmThread
from django_slack_bolt.testing import AsyncSlackTestClient, slash_command

from .apps.async_db_slack_app import ROWS_PER_COMMAND
from .async_support import async_test, make_async_app, uvicorn_process
from .support import SIGNING_SECRET

T = TypeVar("T")


def on_postgres(test: T) -> T:
    """Marks a test that needs the PostgreSQL server (skipped without it) and its test database."""
    for mark in (
        pytest.mark.django_db(transaction=True, databases=["default", "postgres"]),
        pytest.mark.skipif(
            "postgres" not in settings.DATABASES,
            reason="no PostgreSQL server: set DJANGO_SLACK_BOLT_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB "
            "(scripts/postgres.sh start && export "
            "DJANGO_SLACK_BOLT_TEST_POSTGRES=$(scripts/postgres.sh url))",
        ),
        pytest.mark.postgres,
    ):
        test = mark(test)
    return test


COMMANDS = list(ROWS_PER_COMMAND)
BATCH = 30  # requests per batch, 10 of each command
CLIENTS = 4  # requests in flight at once
BATCHES = 34  # 1,020 requests
CONTROL_BATCH = 15  # the control leaks one or two connections per request: stay far below max_connections
CONTROL_BATCHES = 3
# One connection at most per listener or lazy listener running; the server answers commands with no query.
LISTENERS_PER_BATCH = BATCH // len(COMMANDS) * sum(ROWS_PER_COMMAND.values())


# --- the server ----------------------------------------------------------------------------------


@dataclass
class Server:
    """A running uvicorn serving tests/apps/async_db_urls.py; ``log`` collects its stderr."""

    url: str
    application_name: str
    log: list[str] = field(default_factory=list)

    def post(self, path: str, command: str, text: str) -> tuple[int, bytes]:
        request = slash_command(command, text, signing_secret=SIGNING_SECRET)
        headers = {"Content-Type": request.content_type, **request.headers}
        resp = requests.post(self.url + path, data=request.body.encode(), headers=headers, timeout=30)
        return resp.status_code, resp.content


@contextmanager
def uvicorn_on_the_test_database(conn_max_age: int) -> Iterator[Server]:
    """uvicorn in a process of its own, on this test's PostgreSQL database, the garbage collector off."""
    pytest.importorskip("uvicorn", reason="the ASGI tests serve the project with uvicorn")
    application_name = f"dsb-hygiene-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.apps.async_db_settings",
        "DJANGO_SLACK_BOLT_TEST_SERVER_DB": connections["postgres"].settings_dict["NAME"],
        "DJANGO_SLACK_BOLT_TEST_CONN_MAX_AGE": str(conn_max_age),
        "DJANGO_SLACK_BOLT_TEST_APPLICATION_NAME": application_name,
        "DJANGO_SLACK_BOLT_TEST_GC": "off",
        "PYTHONUNBUFFERED": "1",
    }
    with uvicorn_process(env) as (url, log, _):
        yield Server(url=url, application_name=application_name, log=log)


# --- counting ------------------------------------------------------------------------------------


def server_connections(application_name: str) -> int:
    """The server's connections to the test database right now (this test's own are not counted)."""
    with connections["postgres"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        )
        (count,) = cursor.fetchone()
    return int(count)


def settled_connections(application_name: str, timeout: float = 5.0) -> int:
    """The count once it is zero, or the last one seen at ``timeout``.

    A backend whose client just disconnected stays in pg_stat_activity for a moment while it exits.
    """
    deadline = time.monotonic() + timeout
    count = server_connections(application_name)
    while count and time.monotonic() < deadline:
        time.sleep(0.02)
        count = server_connections(application_name)
    return count


@contextmanager
def peak_connections(application_name: str) -> Iterator[Callable[[], int]]:
    """Sample the count every few milliseconds in a thread of its own; yields a getter for the peak."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        try:
            while not stop.is_set():
                peak[0] = max(peak[0], server_connections(application_name))
                stop.wait(0.005)
        finally:
            connections["postgres"].close()

    sampler = threading.Thread(target=sample, name="pg-sampler", daemon=True)
    sampler.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        sampler.join(10)


def rows(run: str) -> int:
    """How many listener runs of this test's requests have finished (each leaves one row)."""
    return Group.objects.using("postgres").filter(name__endswith=f":{run}").count()


def wait_for_rows(run: str, expected: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    count = rows(run)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.01)
        count = rows(run)
    return count


def send_batch(server: Server, path: str, run: str, first: int, size: int) -> None:
    """``size`` commands, CLIENTS at a time; each answered at once, its listeners working on."""
    texts = [(COMMANDS[i % len(COMMANDS)], f"{first + i}:{run}") for i in range(size)]
    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = list(clients.map(lambda args: server.post(path, *args), texts))
    for (command, _), answer in zip(texts, answers, strict=True):
        assert answer == (200, b"queued" if command == "/lazy-orm" else b"ok"), answer


@dataclass
class Run:
    requests: int = 0
    peak: int = 0
    after_each_batch: list[int] = field(default_factory=list)


def listener_runs(requests: int) -> int:
    return sum(ROWS_PER_COMMAND[COMMANDS[i % len(COMMANDS)]] for i in range(requests))


def drive(server: Server, path: str, run: str, batches: int, size: int = BATCH, settle: float = 5.0) -> Run:
    """Send ``batches`` batches; after each, wait for its listeners, then (up to ``settle`` seconds)
    for the count to fall to zero."""
    result = Run()
    with peak_connections(server.application_name) as peak:
        for batch in range(batches):
            send_batch(server, path, run, batch * size, size)
            result.requests += size
            expected = listener_runs(result.requests)
            assert wait_for_rows(run, expected) == expected, "every listener ran its queries"
            result.after_each_batch.append(settled_connections(server.application_name, settle))
        result.peak = peak()
    return result


# --- the proof -------------------------------------------------------------------------------------


@on_postgres
@pytest.mark.parametrize("conn_max_age", [0, 60])
def test_connections_end_with_their_listeners_over_1000_requests_under_uvicorn(conn_max_age):
    run = uuid.uuid4().hex[:8]
    with uvicorn_on_the_test_database(conn_max_age) as server:
        result = drive(server, "/slack/events", run, BATCHES)
        settled = settled_connections(server.application_name)
        log = "".join(server.log)
    print(
        f"\nuvicorn, CONN_MAX_AGE={conn_max_age}: {result.requests} requests, "
        f"{rows(run)} listener runs querying PostgreSQL; server connections: peak {result.peak}, "
        f"after each batch max {max(result.after_each_batch)}, settled {settled}"
    )
    assert result.requests >= 1000
    assert rows(run) == BATCHES * LISTENERS_PER_BATCH
    # No connection outlives its listener, whatever CONN_MAX_AGE says, with no garbage collector to help.
    assert result.after_each_batch == [0] * BATCHES
    assert settled == 0
    # At most one per listener running at once: the count does not grow with the number of requests.
    assert result.peak <= LISTENERS_PER_BATCH
    assert "Traceback" not in log, log
    assert "Error" not in log, log


@on_postgres
@pytest.mark.parametrize("conn_max_age", [0, 60])
def test_control_a_naive_async_view_leaves_the_listeners_connections_open(conn_max_age):
    """The same listeners in a plain AsyncApp behind a naive async view: nothing closes the connections
    their ORM calls open after the request, in threads asgiref has let go of."""
    run = uuid.uuid4().hex[:8]
    with uvicorn_on_the_test_database(conn_max_age) as server:
        result = drive(server, "/naive/events", run, CONTROL_BATCHES, CONTROL_BATCH, settle=0.5)
        left_open = server_connections(server.application_name)
    print(
        f"\ncontrol (naive async view), CONN_MAX_AGE={conn_max_age}: {result.requests} requests; "
        f"server connections: peak {result.peak}, after each batch {result.after_each_batch}, "
        f"left open {left_open}"
    )
    assert rows(run) == listener_runs(CONTROL_BATCHES * CONTROL_BATCH)
    # Open after every listener has finished, and more after every batch.
    assert result.after_each_batch == sorted(result.after_each_batch)
    assert result.after_each_batch[0] > 0
    assert left_open >= result.after_each_batch[-1] > result.after_each_batch[0]


# --- the mechanism, in-process ---------------------------------------------------------------------


def orm_probe() -> tuple[threading.Thread, Any]:
    """Query the database; the thread that ran the query and that thread's connection."""
    Group.objects.exists()
    return threading.current_thread(), connections["default"]


def probing_app(probes: list[tuple[str, threading.Thread, Any]]) -> AsyncSlackRequestHandler:
    """An app whose /probe listener queries twice (a pause between), and whose lazy listener once."""
    app = make_async_app()

    async def listener(ack):  # type: ignore[no-untyped-def]
        await ack("ok")
        probes.append(("listener", *await sync_to_async(orm_probe)()))
        await asyncio.sleep(0.01)
        probes.append(("listener, later", *await sync_to_async(orm_probe)()))

    async def lazy_listener():  # type: ignore[no-untyped-def]
        probes.append(("lazy listener", *await sync_to_async(orm_probe)()))

    app.command("/probe")(ack=listener, lazy=[lazy_listener])
    return AsyncSlackRequestHandler(app)


async def listeners_done(handler: AsyncSlackRequestHandler) -> None:
    runner = handler.app.listener_runner
    await asyncio.gather(*runner._tasks, *runner.lazy_listener_runner._tasks)


@pytest.mark.django_db(transaction=True)
def test_each_listener_gets_an_orm_thread_of_its_own_ended_with_its_connections_closed():
    """As under an ASGI server: an event loop of its own, each request in a ThreadSensitiveContext."""
    probes: list[tuple[str, threading.Thread, Any]] = []
    handler = probing_app(probes)

    async def serve_like_an_asgi_server() -> tuple[threading.Thread, Any]:
        async with ThreadSensitiveContext():  # what Django's ASGIHandler does around each request
            request_thread = await sync_to_async(threading.current_thread)()
            request = slash_command("/probe", signing_secret=SIGNING_SECRET).post(RequestFactory())
            resp = await handler.handle(request)
        await listeners_done(handler)
        return request_thread, resp

    request_thread, resp = asyncio.run(serve_like_an_asgi_server())
    assert (resp.status_code, resp.content) == (200, b"ok")
    threads = {name: thread for name, thread, _ in probes}
    assert set(threads) == {"listener", "listener, later", "lazy listener"}
    # One thread for all of a listener's ORM calls; none shared with the request or another listener.
    assert threads["listener"] is threads["listener, later"]
    assert len({threads["listener"], threads["lazy listener"], request_thread}) == 3
    assert threading.main_thread() not in threads.values()
    for name, thread, connection in probes:
        assert connection.connection is None, f"the {name}'s connection is still open"
        thread.join(5)
        assert not thread.is_alive(), f"the {name}'s thread did not end"


@pytest.mark.django_db
@async_test
async def test_in_async_tests_listeners_query_in_the_tests_thread_and_transaction(aserve):
    """Under async_to_sync (Django's async test runner, AsyncClient tests) asgiref runs thread-sensitive
    code in the outer thread: listeners see the test's transaction, and its connection is left alone."""
    probes: list[tuple[str, threading.Thread, Any]] = []
    handler = probing_app(probes)
    await Group.objects.acreate(name="made by the test")
    slack = AsyncSlackTestClient(signing_secret=SIGNING_SECRET, events_path=aserve(handler.handle))
    resp = await slack.command("/probe")
    await listeners_done(handler)
    assert (resp.status_code, resp.content) == (200, b"ok")
    assert {thread for _, thread, _ in probes} == {threading.main_thread()}
    assert all(connection.connection is not None for _, _, connection in probes)
    # Still inside the test's transaction, which nothing marked for rollback.
    assert await Group.objects.filter(name="made by the test").aexists()


# --- what the handler installs ---------------------------------------------------------------------


class OwnStart(AsyncListenerStartHandler):
    async def handle(self, request, response):  # type: ignore[no-untyped-def]
        pass


class OwnCompletion(AsyncListenerCompletionHandler):
    async def handle(self, request, response):  # type: ignore[no-untyped-def]
        pass


@pytest.mark.parametrize("fast_ack", [True, False])
def test_the_handler_installs_the_start_and_completion_handlers(fast_ack):
    app = make_async_app()
    AsyncSlackRequestHandler(app, fast_ack=fast_ack)
    assert isinstance(app.listener_runner.listener_start_handler, AsyncDjangoListenerStartHandler)
    assert isinstance(app.listener_runner.listener_completion_handler, AsyncDjangoListenerCompletionHandler)


def test_with_your_own_completion_handler_no_orm_thread_is_started(caplog):
    """Nothing would end the threads: the start handler is left as it was too."""
    app = make_async_app()
    start = app.listener_runner.listener_start_handler
    app.listener_runner.listener_completion_handler = OwnCompletion()
    app.logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        AsyncSlackRequestHandler(app)
    assert app.listener_runner.listener_start_handler is start
    assert isinstance(app.listener_runner.listener_completion_handler, OwnCompletion)
    assert "arelease_thread_local_connections()" in caplog.text


def test_your_own_start_handler_is_kept_and_you_are_told_what_to_call(caplog):
    app = make_async_app()
    app.listener_runner.listener_start_handler = OwnStart()
    app.logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO):
        AsyncSlackRequestHandler(app)
    assert isinstance(app.listener_runner.listener_start_handler, OwnStart)
    assert isinstance(app.listener_runner.listener_completion_handler, AsyncDjangoListenerCompletionHandler)
    assert "ListenerOrmThread.start()" in caplog.text


def test_process_before_response_keeps_bolts_start_and_completion_handlers():
    """Listeners then run inside the request, whose connections Django manages."""
    app = make_async_app(process_before_response=True)
    start = app.listener_runner.listener_start_handler
    completion = app.listener_runner.listener_completion_handler
    AsyncSlackRequestHandler(app)
    assert app.listener_runner.listener_start_handler is start
    assert app.listener_runner.listener_completion_handler is completion


@async_test
async def test_an_orm_thread_ends_once_and_belongs_to_its_task():
    orm_thread = ListenerOrmThread.start()
    assert ListenerOrmThread.current() is orm_thread

    async def other_task() -> ListenerOrmThread | None:
        started = ListenerOrmThread.start()
        await started.end(logging.getLogger("test"), "test")
        return ListenerOrmThread.current()

    assert await asyncio.ensure_future(other_task()) is None
    assert ListenerOrmThread.current() is orm_thread  # the other task's did not touch this one's
    await orm_thread.end(logging.getLogger("test"), "test")
    await orm_thread.end(logging.getLogger("test"), "test")  # a second end is a no-op
    assert ListenerOrmThread.current() is None
