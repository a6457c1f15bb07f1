"""Part E: the installation store on Django's ORM against slack_sdk's SQLAlchemy store, in-process.

Both stores hold the same installations (``--store-workspaces`` x ``--store-users``: every user of a
workspace installed the app, each installation a row with its bot and its own user token, as
``store.save`` writes them) and answer the same calls, interleaved round by round in rotating order
as in part A: ``find_installation`` of the workspace, of one of its users, ``find_bot``, and a cold
authorization. Ours is ``DjangoAuthorize(cache_enabled=False)``, which reads the workspace's latest
installation, the user's and the latest bot in one query; on slack_sdk's side, the reads Bolt's
``InstallationStoreAuthorize`` makes before its ``auth.test`` call (the latest installation, then the
user's when someone else installed last), the network call left out. Every answer is checked
against the data first, and the database queries of each call are counted in a pass of their own,
so that counting costs the timed calls nothing.

On SQLite, ours reads this run's database and slack_sdk's store a file of its own in the same
temporary directory; on PostgreSQL (``--postgres``), both read the same server, ours through the
settings' second alias, slack_sdk's through ``postgresql+psycopg`` (psycopg 3, as Django's backend).
"""

from __future__ import annotations

import gc
import importlib.util
import math
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from slack_bolt import BoltContext
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.oauth.models import SlackBot, SlackInstallation
from project import environment

from .inprocess import BenchmarkError
from .stats import percentile

# A client id of the part's own: its rows never mix with the authorization part's (same database).
CLIENT_ID = "3333333333.4444444444"
APP_ID = "A0BENCHSTORE"
# slack_sdk's tables, named so that dropping them at the end (on PostgreSQL) can only ever drop these.
SDK_INSTALLATIONS_TABLE = "bench_slack_sdk_installations"
SDK_BOTS_TABLE = "bench_slack_sdk_bots"
# The first installation's time; a float with microseconds, as slack_sdk's Installation keeps it.
FIRST_INSTALLED_AT = 1_704_067_200.123456

OURS, SLACK_SDK = "ours", "slack_sdk"
STORES = (OURS, SLACK_SDK)
OPERATIONS = ("find_installation", "find_installation_user", "find_bot", "authorize")
SQLITE, POSTGRES = "sqlite", "postgresql"


@dataclass(frozen=True)
class StoresConfig:
    workspaces: int
    users: int  # per workspace, each with an installation of their own
    rounds: int
    iterations: int  # calls per (database, operation, store) over all rounds
    warmup: int  # untimed calls per cell first
    postgres_url: str | None
    workdir: Path  # where slack_sdk's SQLite file goes: this run's temporary directory


@dataclass
class StoreCell:
    """The samples of one (database, operation, store), and its database queries per call."""

    database: str
    operation: str
    store: str
    queries_per_call: float = math.nan
    samples_ms: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)


@dataclass
class StoresReport:
    cells: list[StoreCell]
    databases: dict[str, str]  # key -> what it was ("SQLite 3.40.1, a file each", ...)
    installations: int
    skipped: dict[str, str]


@dataclass(frozen=True)
class Pair:
    """One (workspace, user): the ids a call is made with, and what its answer must hold."""

    team_id: str
    user_id: str
    bot_token: str
    user_token: str
    latest_user_id: str  # who installed last in the workspace


def make_installations(workspaces: int, users: int) -> tuple[list[Installation], list[Pair]]:
    """Every user of every workspace installed the app: one row each, the latest bot shared."""
    installations: list[Installation] = []
    pairs: list[Pair] = []
    for number in range(1, workspaces + 1):
        team_id = f"T0STORE{number:04d}"
        bot_token = f"xoxb-store-{number:04d}-bench"
        for user in range(1, users + 1):
            user_id = f"U0STORE{number:04d}{user:02d}"
            user_token = f"xoxp-store-{number:04d}-{user:02d}-bench"
            installations.append(
                Installation(
                    app_id=APP_ID,
                    team_id=team_id,
                    team_name=f"Store workspace {number}",
                    bot_token=bot_token,
                    bot_id=f"B0STORE{number:04d}",
                    bot_user_id=f"U0SBOT{number:04d}",
                    bot_scopes=["app_mentions:read", "chat:write", "commands"],
                    user_id=user_id,
                    user_token=user_token,
                    user_scopes=["search:read"],
                    installed_at=FIRST_INSTALLED_AT + len(installations),
                )
            )
            pairs.append(Pair(team_id, user_id, bot_token, user_token, f"U0STORE{number:04d}{users:02d}"))
    return installations, pairs


# -- the two sides ------------------------------------------------------------------------------------


def bolt_authorize_reads(store: Any, team_id: str, user_id: str) -> tuple[Any, Any]:
    """What Bolt's ``InstallationStoreAuthorize`` reads from ``store`` before it calls ``auth.test``.

    The workspace's latest installation, then, when someone else installed last, the request user's.
    """
    latest = store.find_installation(enterprise_id=None, team_id=team_id, is_enterprise_install=None)
    if latest is None or latest.user_id == user_id:
        return latest, None
    mine = store.find_installation(
        enterprise_id=None, team_id=team_id, user_id=user_id, is_enterprise_install=None
    )
    return latest, mine


Call = Callable[[Pair], Any]


@dataclass
class Side:
    """One store on one database: the calls it is timed on, and how to count its queries."""

    store: str
    calls: dict[str, Call]
    counting: Callable[[], Any]  # a context manager whose result's len() is the queries made


def _ours(alias: str) -> Side:
    store = DjangoInstallationStore(CLIENT_ID, database=alias)
    authorize = DjangoAuthorize(installation_store=store, client_id=CLIENT_ID, cache_enabled=False)
    return Side(
        OURS,
        {
            "find_installation": lambda p: store.find_installation(enterprise_id=None, team_id=p.team_id),
            "find_installation_user": lambda p: store.find_installation(
                enterprise_id=None, team_id=p.team_id, user_id=p.user_id
            ),
            "find_bot": lambda p: store.find_bot(enterprise_id=None, team_id=p.team_id),
            "authorize": lambda p: authorize(
                context=BoltContext(), enterprise_id=None, team_id=p.team_id, user_id=p.user_id
            ),
        },
        lambda: CaptureQueriesContext(connections[alias]),
    )


class _Counter(list[str]):
    """The statements an engine ran while the ``with`` block lasted (SQLAlchemy's cursor event)."""

    def __init__(self, engine: Any) -> None:
        super().__init__()
        self.engine = engine

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.append(statement)

    def __enter__(self) -> _Counter:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)


def _slack_sdk(engine: Any) -> tuple[Side, Any]:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    store = SQLAlchemyInstallationStore(
        client_id=CLIENT_ID,
        engine=engine,
        bots_table_name=SDK_BOTS_TABLE,
        installations_table_name=SDK_INSTALLATIONS_TABLE,
    )
    side = Side(
        SLACK_SDK,
        {
            "find_installation": lambda p: store.find_installation(enterprise_id=None, team_id=p.team_id),
            "find_installation_user": lambda p: store.find_installation(
                enterprise_id=None, team_id=p.team_id, user_id=p.user_id
            ),
            "find_bot": lambda p: store.find_bot(enterprise_id=None, team_id=p.team_id),
            "authorize": lambda p: bolt_authorize_reads(store, p.team_id, p.user_id),
        },
        lambda: _Counter(engine),
    )
    return side, store


def sqlalchemy_url(postgres_url: str) -> str:
    """``postgresql://...`` as SQLAlchemy names it with psycopg 3: ``postgresql+psycopg://...``."""
    scheme, rest = postgres_url.split("://", 1)
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a postgresql:// URL: {scheme}://...")
    return f"postgresql+psycopg://{rest}"


def describe_postgres(url: str) -> str:
    """Where the server is, without the user or the password."""
    parsed = urlsplit(url)
    return f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5432}{parsed.path or '/postgres'}"


# -- the run ------------------------------------------------------------------------------------------


def run_stores(config: StoresConfig) -> StoresReport:
    installations, pairs = make_installations(config.workspaces, config.users)
    report = StoresReport(cells=[], databases={}, installations=len(installations), skipped={})
    databases: list[tuple[str, str, str]] = [
        (SQLITE, DEFAULT_DB_ALIAS, f"sqlite:///{config.workdir / 'slack_sdk_store.sqlite3'}")
    ]
    if config.postgres_url and importlib.util.find_spec("psycopg") is None:
        report.skipped[POSTGRES] = 'psycopg 3 is not installed (pip install "django-slack-bolt[postgres]")'
    elif config.postgres_url:
        if environment.POSTGRES_ALIAS not in settings.DATABASES:
            raise BenchmarkError(
                f"--postgres given, but the settings have no {environment.POSTGRES_ALIAS!r} database "
                f"({environment.POSTGRES} was not set when Django started)"
            )
        databases.append((POSTGRES, environment.POSTGRES_ALIAS, sqlalchemy_url(config.postgres_url)))
    else:
        report.skipped[POSTGRES] = f"no server given (--postgres URL, or {environment.POSTGRES})"
    for database, alias, engine_url in databases:
        with _stores_on(database, alias, engine_url, config, installations, report) as sides:
            _check_answers(database, sides, pairs)
            report.cells += _measure(config, database, sides, pairs)
    return report


@contextmanager
def _stores_on(
    database: str,
    alias: str,
    engine_url: str,
    config: StoresConfig,
    installations: Sequence[Installation],
    report: StoresReport,
) -> Iterator[list[Side]]:
    """Both stores on ``database``, holding ``installations``; what it left on a server removed after."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(engine_url)
    with ExitStack() as cleanup:
        cleanup.callback(engine.dispose)
        cleanup.callback(connections[alias].close)
        call_command("migrate", database=alias, verbosity=0, interactive=False)
        ours = _ours(alias)
        sdk, sdk_store = _slack_sdk(engine)
        # Rows an interrupted run left on a server, then this run's when it ends (a temporary SQLite
        # file goes anyway).
        _remove(alias, sdk_store, engine)
        cleanup.callback(_remove, alias, sdk_store, engine)
        sdk_store.metadata.create_all(engine)
        django_store = DjangoInstallationStore(CLIENT_ID, database=alias)
        started = time.perf_counter()
        for installation in installations:
            django_store.save(installation)
            sdk_store.save(installation)
        report.databases[database] = _describe(database, alias, config.postgres_url or "")
        print(
            f"  stores, {report.databases[database]}: {len(installations)} installations saved in each "
            f"store ({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
        yield [ours, sdk]


def _remove(alias: str, sdk_store: Any, engine: Any) -> None:
    SlackInstallation.objects.using(alias).filter(client_id=CLIENT_ID).delete()
    SlackBot.objects.using(alias).filter(client_id=CLIENT_ID).delete()
    sdk_store.metadata.drop_all(engine)


def _describe(database: str, alias: str, postgres_url: str) -> str:
    if database == SQLITE:
        return f"SQLite {sqlite3.sqlite_version}, a file for each store"
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    return (
        f"PostgreSQL {server_version.split()[0]} at {describe_postgres(postgres_url)}, one database for both"
    )


def _check_answers(database: str, sides: Sequence[Side], pairs: Sequence[Pair]) -> None:
    """Every call, once per (workspace, user), answers what the data says: the numbers compare alike."""
    for side in sides:
        for pair in pairs:
            for operation, call in side.calls.items():
                problem = _wrong(operation, side.store, call(pair), pair)
                if problem:
                    raise BenchmarkError(
                        f"{database}, {side.store}: {operation} for {pair.team_id}/{pair.user_id}: {problem}"
                    )


def _wrong(operation: str, store: str, answer: Any, pair: Pair) -> str | None:
    got: tuple[Any, ...] | None
    if operation == "find_bot":
        got = (answer.bot_token,) if answer is not None else None
        expected: tuple[Any, ...] = (pair.bot_token,)
    elif operation == "authorize" and store == OURS:
        got = (answer.bot_token, answer.user_token, answer.user_id) if answer is not None else None
        expected = (pair.bot_token, pair.user_token, pair.user_id)
    elif operation == "authorize":
        latest, mine = answer
        chosen = mine if mine is not None else latest
        got = (latest.bot_token, chosen.user_token, chosen.user_id) if latest is not None else None
        expected = (pair.bot_token, pair.user_token, pair.user_id)
    else:
        user_id = pair.user_id if operation == "find_installation_user" else pair.latest_user_id
        got = (answer.bot_token, answer.user_id) if answer is not None else None
        expected = (pair.bot_token, user_id)
    return None if got == expected else f"got {got}, expected {expected}"


def _queries_per_call(side: Side, call: Call, pairs: Sequence[Pair]) -> float:
    with side.counting() as queries:
        for pair in pairs:
            call(pair)
    return len(queries) / len(pairs)


def _measure(
    config: StoresConfig, database: str, sides: Sequence[Side], pairs: Sequence[Pair]
) -> list[StoreCell]:
    cells = {
        (operation, side.store): StoreCell(
            database, operation, side.store, _queries_per_call(side, side.calls[operation], pairs)
        )
        for operation in OPERATIONS
        for side in sides
    }
    # Warm-up: connections, the compiled queries (ours compiles each once per database), caches.
    for operation in OPERATIONS:
        for side in sides:
            _timed_batch(side.calls[operation], pairs, 0, config.warmup)
    batch = math.ceil(config.iterations / config.rounds)
    started = time.perf_counter()
    for round_index in range(config.rounds):
        shift = round_index % len(sides)
        for operation in OPERATIONS:
            for side in [*sides[shift:], *sides[:shift]]:
                # Each batch starts where the last one of the round left off in the (workspace, user)
                # list, the same for both stores.
                samples = _timed_batch(side.calls[operation], pairs, round_index * batch, batch)
                cell = cells[operation, side.store]
                cell.samples_ms.extend(samples)
                cell.round_medians_ms.append(percentile(sorted(samples), 50))
        elapsed = time.perf_counter() - started
        print(
            f"  stores, {database}: round {round_index + 1}/{config.rounds} done ({elapsed:.0f} s)",
            file=sys.stderr,
        )
    return list(cells.values())


def _timed_batch(call: Call, pairs: Sequence[Pair], start: int, batch: int) -> list[float]:
    """The latency in ms of ``batch`` calls, over the (workspace, user) pairs in turn from ``start``."""
    gc.collect()
    samples = []
    perf_counter_ns = time.perf_counter_ns
    count = len(pairs)
    for index in range(start, start + batch):
        pair = pairs[index % count]
        before = perf_counter_ns()
        call(pair)
        samples.append((perf_counter_ns() - before) / 1e6)
    return samples
