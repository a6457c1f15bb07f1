"""Database connection hygiene on a real PostgreSQL server.

Bolt runs listeners and lazy listeners in its own executor threads, which Django does not manage: the
connections they open are only released by the handlers this package installs. After 1,000 requests
whose listeners query the database, the server's connection count (pg_stat_activity) must stay
within the executor's thread count plus the test's own connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import SlackTestClient

from .support import SIGNING_SECRET, make_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "postgres" not in settings.DATABASES,
        reason="no PostgreSQL server: set DJANGO_SLACK_BOLT_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB "
        "(scripts/postgres.sh start && export DJANGO_SLACK_BOLT_TEST_POSTGRES=$(scripts/postgres.sh url))",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "postgres"]),
]

THREADS = 4
LAZY_THREADS = 2
REQUESTS = 1000


def server_connections() -> int:
    """Connections to the test database right now, this test's own included."""
    with connections["postgres"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    return int(count)


def settled_connections(expected: int, timeout: float = 5.0) -> int:
    """The connection count once it reaches ``expected`` (or the last count seen at ``timeout``).

    A backend whose client just disconnected stays in pg_stat_activity for a moment while it exits.
    """
    deadline = time.monotonic() + timeout
    count = server_connections()
    while count > expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = server_connections()
    return count


@pytest.fixture
def conn_max_age(request) -> Iterator[int]:
    """Set CONN_MAX_AGE of the PostgreSQL alias for every thread (they share its settings dict)."""
    db_settings = connections.settings["postgres"]
    before = db_settings["CONN_MAX_AGE"]
    db_settings["CONN_MAX_AGE"] = request.param
    yield request.param
    db_settings["CONN_MAX_AGE"] = before


def in_every_worker(executor: ThreadPoolExecutor, action=lambda: None, threads: int = THREADS) -> None:  # type: ignore[no-untyped-def]
    """Run ``action`` once in each worker thread, once every task submitted before has finished."""
    barrier = threading.Barrier(threads)

    def at_the_barrier() -> None:
        barrier.wait(30)  # only passes when all workers are free, i.e. nothing else is running
        action()

    for future in [executor.submit(at_the_barrier) for _ in range(threads)]:
        future.result(60)


def close_in_every_worker(executor: ThreadPoolExecutor, threads: int = THREADS) -> None:
    """Close the connection each worker thread holds, then stop the executor."""
    in_every_worker(executor, lambda: connections["postgres"].close(), threads)
    executor.shutdown(wait=True)


def build_app(executor: ThreadPoolExecutor, queries: list[int]):  # type: ignore[no-untyped-def]
    app = make_app(listener_executor=executor)
    lock = threading.Lock()

    def ack_and_query(ack, command):  # type: ignore[no-untyped-def]
        ack("ok")
        exists = User.objects.using("postgres").filter(username=command["user_name"]).exists()
        with lock:
            queries.append(int(exists))

    def lazy_query(command):  # type: ignore[no-untyped-def]
        count = User.objects.using("postgres").count()
        with lock:
            queries.append(count)

    app.command("/query")(ack_and_query)
    app.command("/lazy-query")(ack=lambda ack: ack("queued"), lazy=[lazy_query])
    return app


@pytest.mark.parametrize("conn_max_age", [0, 60], indirect=True)
def test_connections_stay_bounded_over_1000_requests(serve, settings, conn_max_age):
    # Lazy listeners have threads of their own besides the listener threads: each thread may keep one.
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "LAZY_LISTENER_WORKERS": LAZY_THREADS}
    executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="bolt-listener")
    queries: list[int] = []
    app = build_app(executor, queries)
    url = serve(SlackRequestHandler(app).handle)
    lazy_executor = app.listener_runner.lazy_listener_runner.executor
    slack = SlackTestClient(signing_secret=SIGNING_SECRET, events_path=url)
    bound = THREADS + LAZY_THREADS + 1
    peak = server_connections()
    try:
        for i in range(REQUESTS):
            resp = slack.command("/query" if i % 2 else "/lazy-query", f"n{i}")
            assert resp.status_code == 200
            if i % 50 == 0:
                # Listeners keep running meanwhile; only a count that stays above the bound is a leak.
                peak = max(peak, settled_connections(bound, timeout=2.0))
        in_every_worker(executor)  # every listener has finished
        in_every_worker(lazy_executor, threads=LAZY_THREADS)  # and every lazy listener
        peak = max(peak, settled_connections(bound, timeout=2.0))
        settled = settled_connections(1)
    finally:
        close_in_every_worker(executor)
        close_in_every_worker(lazy_executor, LAZY_THREADS)
    assert len(queries) == REQUESTS, "every listener and lazy listener ran its query"
    assert peak <= bound, (
        f"{peak} connections to the server, more than {THREADS} + {LAZY_THREADS} threads + 1"
    )
    if conn_max_age == 0:
        # Nothing outlives its listener: only the test's own connection is left.
        assert settled == 1
    else:
        # Persistent connections are reused, one per worker thread at most.
        assert 1 <= settled <= bound


@pytest.mark.parametrize("conn_max_age", [0], indirect=True)
def test_without_the_django_handlers_listener_threads_keep_their_connections(serve, conn_max_age):
    """The control: Bolt's runner without our start/completion handlers leaves connections open."""
    executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="bolt-listener")
    queries: list[int] = []
    app = build_app(executor, queries)
    handler = SlackRequestHandler(app, fast_ack=False)
    from slack_bolt.listener.listener_completion_handler import DefaultListenerCompletionHandler
    from slack_bolt.listener.listener_start_handler import DefaultListenerStartHandler

    app.listener_runner.listener_start_handler = DefaultListenerStartHandler(app.logger)
    app.listener_runner.listener_completion_handler = DefaultListenerCompletionHandler(app.logger)
    slack = SlackTestClient(signing_secret=SIGNING_SECRET, events_path=serve(handler.handle))
    try:
        for i in range(40):
            assert slack.command("/query", f"n{i}").status_code == 200
        in_every_worker(executor)
        settled = server_connections()
    finally:
        close_in_every_worker(executor)
    assert len(queries) == 40
    assert settled > 1, "idle listener-thread connections stay open without the handlers"
