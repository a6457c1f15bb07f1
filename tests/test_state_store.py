"""DjangoOAuthStateStore on SQLite and PostgreSQL: a state is usable once, until it expires.

The race test is the point of the conditional DELETE: two callbacks with the same state, each on its
own database connection, started together; exactly one may win, every time.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from unittest import mock

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from django_slack_bolt.models import SlackOAuthState
from django_slack_bolt.oauth.state_store import DjangoOAuthStateStore

from .store_support import databases

RACES = 50


def expire(database: str, state: str) -> None:
    SlackOAuthState.objects.using(database).filter(state=state).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.parametrize("database", databases())
def test_issue_then_consume_once(database):
    store = DjangoOAuthStateStore(database=database)
    state = store.issue()
    assert len(state) >= 40
    assert SlackOAuthState.objects.using(database).filter(state=state).exists()
    assert store.consume(state) is True
    assert store.consume(state) is False
    assert not SlackOAuthState.objects.using(database).exists()


@pytest.mark.parametrize("database", databases())
def test_every_state_is_new(database):
    store = DjangoOAuthStateStore(database=database)
    states = {store.issue() for _ in range(20)}
    assert len(states) == 20
    assert SlackOAuthState.objects.using(database).count() == 20


@pytest.mark.parametrize("database", databases())
def test_unknown_and_malformed_states_are_refused(database):
    store = DjangoOAuthStateStore(database=database)
    store.issue()
    # PostgreSQL refuses NUL bytes in text: the store answers False instead of raising.
    for state in ["", "nope", "a" * 256, "x\x00y", "état", "a b", "x" * 10_000]:
        assert store.consume(state) is False
    assert SlackOAuthState.objects.using(database).count() == 1


@pytest.mark.parametrize("database", databases())
def test_an_expired_state_is_refused(database):
    store = DjangoOAuthStateStore(database=database)
    state = store.issue()
    expire(database, state)
    assert store.consume(state) is False


@pytest.mark.parametrize("database", databases())
def test_expiration_seconds(database, settings):
    store = DjangoOAuthStateStore(expiration_seconds=30, database=database)
    before = timezone.now()
    state = store.issue()
    expires_at = SlackOAuthState.objects.using(database).get(state=state).expires_at
    assert before + timedelta(seconds=29) < expires_at <= timezone.now() + timedelta(seconds=30)

    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "STATE_EXPIRATION_SECONDS": 5}
    assert DjangoOAuthStateStore(database=database).expiration_seconds == 5
    stillborn = DjangoOAuthStateStore(expiration_seconds=0, database=database)
    assert stillborn.consume(stillborn.issue()) is False  # expired when issued


@pytest.mark.parametrize("database", databases())
def test_issue_purges_expired_states_when_its_turn_comes(database):
    store = DjangoOAuthStateStore(database=database)
    expired = [store.issue() for _ in range(3)]
    for state in expired:
        expire(database, state)
    fresh = store.issue()

    with mock.patch.object(DjangoOAuthStateStore, "_purge_now", return_value=True):
        new = store.issue()
    left = set(SlackOAuthState.objects.using(database).values_list("state", flat=True))
    assert left == {fresh, new}


@pytest.mark.parametrize("database", databases())
def test_issue_leaves_expired_states_when_it_is_not_its_turn(database):
    store = DjangoOAuthStateStore(database=database)
    expire(database, store.issue())
    with mock.patch.object(DjangoOAuthStateStore, "_purge_now", return_value=False):
        store.issue()
    assert SlackOAuthState.objects.using(database).count() == 2


@pytest.mark.parametrize("database", databases())
def test_purge_expired_counts(database):
    store = DjangoOAuthStateStore(database=database)
    for state in [store.issue() for _ in range(4)][:3]:
        expire(database, state)
    assert store.expired().count() == 3
    assert store.purge_expired() == 3
    assert store.purge_expired() == 0
    assert SlackOAuthState.objects.using(database).count() == 1


def race(database: str, state: str) -> list[bool]:
    """Two callbacks consuming ``state`` at once, each on its own connection; what each got."""
    start = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def callback() -> None:
        try:
            # Django's connections are per thread: open this one before the start line.
            connections[database].ensure_connection()
            start.wait(10)
            results.append(DjangoOAuthStateStore(database=database).consume(state))
        except BaseException as e:
            errors.append(e)
        finally:
            connections[database].close()

    threads = [threading.Thread(target=callback) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


@pytest.mark.parametrize("database", databases(transaction=True))
def test_racing_callbacks_consume_a_state_exactly_once(database):
    store = DjangoOAuthStateStore(database=database)
    for attempt in range(RACES):
        assert sorted(race(database, store.issue())) == [False, True], f"race {attempt}"
    assert not SlackOAuthState.objects.using(database).exists()


# -- async ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def worker_connections() -> AsyncIterator[None]:
    """Close what the ORM opened in asgiref's thread-sensitive worker thread, as a request would."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.mark.asyncio
@pytest.mark.parametrize("database", databases(transaction=True))
async def test_async_issue_and_consume(database, worker_connections):
    store = DjangoOAuthStateStore(database=database)
    state = await store.async_issue()
    assert await SlackOAuthState.objects.using(database).filter(state=state).aexists()
    assert await store.async_consume(state) is True
    assert await store.async_consume(state) is False
    assert await store.async_consume("x\x00y") is False

    expired = await store.async_issue()
    await (
        SlackOAuthState.objects.using(database)
        .filter(state=expired)
        .aupdate(expires_at=timezone.now() - timedelta(seconds=1))
    )
    assert await store.async_consume(expired) is False
    with mock.patch.object(DjangoOAuthStateStore, "_purge_now", return_value=True):
        kept = await store.async_issue()
    assert [s async for s in SlackOAuthState.objects.using(database).values_list("state", flat=True)] == [
        kept
    ]
    assert await store.async_purge_expired() == 0


@pytest.mark.django_db
def test_repr_shows_no_state():
    store = DjangoOAuthStateStore(expiration_seconds=60, database="default")
    state = store.issue()
    row = SlackOAuthState.objects.get(state=state)
    for text in (repr(store), repr(row), str(row)):
        assert state not in text
