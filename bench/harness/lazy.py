"""Part F: acks never wait behind lazy work. ``/ping`` while slow lazy listeners hold their threads.

The same app through each adapter (:mod:`project.lazy_apps`): ``/report`` acks at once and leaves a
lazy listener that blocks (on an event the harness sets at the end of the cell, as a slow LLM call
would hold its thread for seconds); ``/ping`` only acks. Bolt runs ack functions and lazy listeners
on one executor, five threads by default: five slow lazy listeners fill it, and ``/ping``'s ack
function waits behind them until Bolt gives up after its 3 s ack timeout and answers 404 (Slack would
have shown the user an error by then). Ours runs lazy listeners on a pool of their own
(``SLACK_BOLT["LAZY_LISTENER_WORKERS"]``, 10): ack functions keep the listener executor to
themselves.

In-process, through Django's test client and the bench project's URLconf. Per round and adapter:
``/ping`` with nothing in flight (idle), then ``--lazy-in-flight`` ``/report`` commands sent at once
(one client thread each, as that many users at once), and ``/ping`` again while their lazy listeners
are held (busy); then the gate opens and every lazy listener finishes before the next cell. Through
Bolt's adapter a busy ``/ping`` takes 3 s, so it gets few pings (``--lazy-bolt-pings``), still
interleaved. Every request is signed anew by the test kit (the package refuses replays).
"""

from __future__ import annotations

import gc
import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.test import Client

from django_slack_bolt import conf
from django_slack_bolt.testing import slash_command
from project.common import SIGNING_SECRET
from project.lazy_apps import LOGGER_NAME, PING_COMMAND, PING_REPLY, REPORT_COMMAND, REPORT_REPLY, gate
from project.urls import Variant, lazy_bolt_handler

from .inprocess import BenchmarkError
from .stats import percentile

IDLE, BUSY = "idle", "busy"
OURS, BOLT = "lazy_ours", "lazy_bolt"
# The lazy listeners have all started that will start: their count has not moved for this long.
SETTLE_S = 0.3
# How long the fill may take (Bolt: the /report commands whose ack waits behind lazy work take 3 s),
# and the held lazy listeners to finish once the gate opens.
FILL_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 30.0
# Warnings the part expects by the dozen and counts itself: Bolt's for each ack it gave up waiting
# for (with a suggested listener), Django's for each 404 answered.
QUIETED_LOGGERS = (LOGGER_NAME, "django.request")


@dataclass(frozen=True)
class LazyConfig:
    in_flight: int  # slow lazy listeners started before the busy pings
    rounds: int
    pings: int  # per adapter and state over all rounds ...
    bolt_pings: int  # ... except through Bolt's adapter while busy: those take 3 s each
    warmup: int


@dataclass
class LazyCell:
    """The pings of one (adapter, state): each one's latency and status, and what was in flight."""

    variant: Variant
    state: str
    in_flight: int
    samples_ms: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # Busy cells, per round: the /report answers, the fill's duration, and the lazy listeners running
    # (holding a thread) and waiting for one when the pings began.
    report_statuses: list[int] = field(default_factory=list)
    fill_s: list[float] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)

    @property
    def not_ok(self) -> int:
        return sum(1 for status in self.statuses if status != 200)


@dataclass
class LazyReport:
    cells: list[LazyCell]
    lazy_workers: int  # ours: SLACK_BOLT["LAZY_LISTENER_WORKERS"]
    bolt_executor_workers: int | None  # Bolt's listener executor, which its lazy listeners share


def run_lazy(config: LazyConfig, variants: Sequence[Variant]) -> LazyReport:
    client = Client()
    cells = {
        (variant.key, state): LazyCell(variant, state, config.in_flight if state == BUSY else 0)
        for variant in variants
        for state in (IDLE, BUSY)
    }
    with _quieted(QUIETED_LOGGERS):
        _run(client, cells, config, variants)
    executor = lazy_bolt_handler.app.listener_runner.listener_executor
    return LazyReport(
        cells=list(cells.values()),
        lazy_workers=int(conf.get_setting("LAZY_LISTENER_WORKERS")),
        bolt_executor_workers=getattr(executor, "_max_workers", None),
    )


@contextmanager
def _quieted(names: Sequence[str]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _run(
    client: Client, cells: dict[tuple[str, str], LazyCell], config: LazyConfig, variants: Sequence[Variant]
) -> None:
    try:
        for variant in variants:
            _warm_up(client, variant, config.warmup)
        started = time.perf_counter()
        for round_index in range(config.rounds):
            shift = round_index % len(variants)
            for variant in [*variants[shift:], *variants[:shift]]:
                _idle(client, cells[variant.key, IDLE], math.ceil(config.pings / config.rounds))
                busy_pings = config.bolt_pings if variant.key == BOLT else config.pings
                _busy(client, cells[variant.key, BUSY], math.ceil(busy_pings / config.rounds))
            elapsed = time.perf_counter() - started
            print(f"  lazy round {round_index + 1}/{config.rounds} done ({elapsed:.0f} s)", file=sys.stderr)
    finally:
        gate.open()  # whatever happened, no lazy listener stays held


def _post(client: Client, variant: Variant, command: str) -> tuple[int, bytes, float]:
    """A new signed ``command`` (never a replay), its status, body and latency in ms."""
    request = slash_command(command, signing_secret=SIGNING_SECRET)
    before = time.perf_counter_ns()
    response = request.post(client, variant.path)
    return response.status_code, response.content, (time.perf_counter_ns() - before) / 1e6


def _check(variant: Variant, command: str, status: int, content: bytes, expected: str) -> None:
    if status != 200 or expected.encode() not in content:
        raise BenchmarkError(
            f"{variant.label} answered {command} with {status} {content[:200]!r}; "
            f"expected 200 containing {expected!r}"
        )


def _warm_up(client: Client, variant: Variant, count: int) -> None:
    """Imports, the URL resolver, both listeners and the lazy one: also proves each answers correctly."""
    gate.reset()
    gate.open()
    status, content, _ = _post(client, variant, REPORT_COMMAND)
    _check(variant, REPORT_COMMAND, status, content, REPORT_REPLY)
    _drain(variant, 1)
    for _ in range(max(count, 1)):
        status, content, _ = _post(client, variant, PING_COMMAND)
        _check(variant, PING_COMMAND, status, content, PING_REPLY)


def _pings(client: Client, cell: LazyCell, count: int) -> None:
    gc.collect()
    samples = []
    for _ in range(count):
        status, content, ms = _post(client, cell.variant, PING_COMMAND)
        if status == 200 and PING_REPLY.encode() not in content:
            _check(cell.variant, PING_COMMAND, status, content, PING_REPLY)
        samples.append(ms)
        cell.statuses.append(status)
    cell.samples_ms.extend(samples)
    cell.round_medians_ms.append(percentile(sorted(samples), 50))


def _idle(client: Client, cell: LazyCell, count: int) -> None:
    gate.reset()
    before = len(cell.statuses)
    _pings(client, cell, count)
    failed = [status for status in cell.statuses[before:] if status != 200]
    if failed:
        raise BenchmarkError(f"{cell.variant.label}: /ping with nothing in flight answered {failed}")


def _busy(client: Client, cell: LazyCell, count: int) -> None:
    gate.reset()
    try:
        started = time.perf_counter()
        cell.report_statuses += _reports_at_once(cell.variant, cell.in_flight)
        _settle(cell.variant)
        cell.fill_s.append(round(time.perf_counter() - started, 2))
        cell.running.append(gate.running)
        cell.waiting.append(cell.in_flight - gate.started)
        _pings(client, cell, count)
    finally:
        gate.open()
    _drain(cell.variant, cell.in_flight)


def _reports_at_once(variant: Variant, count: int) -> list[int]:
    """``count`` /report commands sent at once, each from a thread (and a test client) of its own."""

    def report(_: int) -> int:
        status, content, _ms = _post(Client(), variant, REPORT_COMMAND)
        if status == 200:
            _check(variant, REPORT_COMMAND, status, content, REPORT_REPLY)
        return status

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="bench-report") as senders:
        return list(senders.map(report, range(count)))


def _settle(variant: Variant) -> None:
    """Until the lazy listeners that can start have started: their count stays put for SETTLE_S."""
    deadline = time.monotonic() + FILL_TIMEOUT_S
    seen, since = gate.started, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = gate.started
        if now != seen:
            seen, since = now, time.monotonic()
        elif now > 0 and time.monotonic() - since >= SETTLE_S:
            return
    raise BenchmarkError(f"{variant.label}: {gate.started} lazy listeners started after {FILL_TIMEOUT_S} s")


def _drain(variant: Variant, expected: int) -> None:
    """Until every lazy listener of the cell has finished (the gate is open), so the next starts clean."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while gate.finished < expected:
        if time.monotonic() > deadline:
            raise BenchmarkError(
                f"{variant.label}: {gate.finished} of {expected} lazy listeners finished "
                f"{DRAIN_TIMEOUT_S} s after the gate opened"
            )
        time.sleep(0.01)
    # What the executors still hold (Bolt's queued ack functions of the pings it gave up on) runs now.
    time.sleep(0.1)


def status_counts(statuses: Sequence[int]) -> dict[str, int]:
    return {str(status): count for status, count in sorted(Counter(statuses).items())}
