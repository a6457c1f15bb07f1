"""Part B: throughput and tail latency through a real gunicorn on 127.0.0.1, Bolt's adapter vs ours.

One gunicorn serves every variant (each at its own URL), so both adapters run in the same workers
with the same warm-up; the variants take turns, their order rotated every round. The clients are in
:mod:`harness.clients`, the server in :mod:`harness.server`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from project.payloads import Scenario, signed_headers
from project.urls import Variant

from .clients import LoadClient, PythonClient, RunningLoad, choose_client
from .server import HOST, GunicornServer, ServerProcess

# How far into a run the connections are counted: by then every one of them is open.
SETTLE_S = 0.3
# A pause before every start, so that what the previous run left behind (listeners still running,
# connections being closed) is done before the next one counts; a worker still busy with it also
# tends to lose the race for the next connections.
PAUSE_S = 0.3


@dataclass(frozen=True)
class LoadConfig:
    rounds: int
    duration_s: int  # wrk takes whole seconds
    warmup_s: float
    connections: int
    workers: int
    threads: int
    client: str  # "auto", "wrk" or "python"
    # A run whose connections leave some gunicorn thread idle is started again, this many times at
    # most (with 16 connections on 2 x 4 threads about one start in two is good; a false start costs
    # SETTLE_S).
    max_starts: int = 10
    # The Python client's hard cap on requests per run, whatever the duration.
    max_requests: int = 200_000


@dataclass(frozen=True)
class LoadRun:
    scenario: str
    variant: str
    round_index: int
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p99_ms: float
    # Connections held by each worker, most first (None where /proc could not tell), how many
    # starts it took, and whether every thread had work in the end.
    split: list[int] | None
    starts: int
    every_thread_busy: bool

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


@dataclass
class LoadReport:
    client: str
    server: str
    connections: int
    runs: list[LoadRun]


def run_load(
    config: LoadConfig, scenarios: Sequence[Scenario], variants: Sequence[Variant], bench_dir: Path
) -> LoadReport:
    with tempfile.TemporaryDirectory(prefix="django-slack-bolt-bench-") as tmp:
        workdir = Path(tmp)
        client = choose_client(config.client, workdir, config.max_requests)
        print(f"  load client: {client.description}", file=sys.stderr)
        with GunicornServer(bench_dir, config.workers, config.threads, workdir / "gunicorn.log") as server:
            print(f"  server: {server.description} on {HOST}:{server.port}", file=sys.stderr)
            _warm_up(server, config, scenarios, variants)
            runs = []
            for round_index in range(config.rounds):
                for scenario in scenarios:
                    shift = round_index % len(variants)
                    for variant in [*variants[shift:], *variants[:shift]]:
                        runs.append(_measure(client, server, config, scenario, variant, round_index))
            return LoadReport(client.description, server.description, config.connections, runs)


def _every_thread_busy(split: list[int] | None, config: LoadConfig) -> bool:
    """Whether each worker holds enough connections to keep all its threads busy.

    Not merely "every worker has some": Bolt's acked requests hold a thread for 10 ms each, so with
    6 + 2 connections on 4 + 4 threads it serves 6 at a time instead of 8, and ours, CPU-bound, runs
    on one core when one worker has them all.
    """
    if split is None:
        return True  # /proc cannot tell: take the run as it comes
    return min(split) >= min(config.threads, config.connections // config.workers)


@dataclass(frozen=True)
class Started:
    """A run under way, and how its connections ended up spread over gunicorn's workers."""

    running: RunningLoad
    split: list[int] | None
    starts: int
    every_thread_busy: bool


def start_evenly(
    server: ServerProcess,
    config: LoadConfig,
    start: Callable[[], RunningLoad],
    pause: Callable[[], None] = lambda: time.sleep(PAUSE_S),
    balanced: Callable[[list[int] | None], bool] | None = None,
) -> Started:
    """``start()`` a run, and start it again (``config.max_starts`` at most) until no thread idles.

    ``pause()`` runs before every start: long enough for the server to finish what the previous run
    left it, or the worker still busy with it loses the race for the new connections. ``balanced``
    judges the spread of connections over the workers (default: every gunicorn thread has one).
    """
    starts = 0
    while True:
        starts += 1
        pause()
        running = start()
        time.sleep(SETTLE_S)
        split = server.connections_per_worker()
        busy = balanced(split) if balanced is not None else _every_thread_busy(split, config)
        if busy or starts >= config.max_starts:
            return Started(running, split, starts, busy)
        running.abort()


def _measure(
    client: LoadClient,
    server: GunicornServer,
    config: LoadConfig,
    scenario: Scenario,
    variant: Variant,
    round_index: int,
) -> LoadRun:
    url = server.url(variant.path)
    # Signed right before each start: the timestamp must be within five minutes while it lasts.
    started = start_evenly(
        server,
        config,
        lambda: client.start(
            url, scenario, signed_headers(scenario.body), config.duration_s, config.connections
        ),
    )
    running, split, starts, busy = started.running, started.split, started.starts, started.every_thread_busy
    measured = running.result()
    run = LoadRun(
        scenario=scenario.key,
        variant=variant.key,
        round_index=round_index,
        requests=measured.responses,
        duration_s=measured.seconds,
        errors=measured.errors,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        split=split,
        starts=starts,
        every_thread_busy=busy,
    )
    print(
        f"  load round {round_index + 1}/{config.rounds} {scenario.label} / {variant.label}: "
        f"{run.requests_per_s:.0f} req/s, p99 {run.p99_ms:.1f} ms, connections per worker {split}"
        + (f", {starts} starts" if starts > 1 else "")
        + (f", {run.errors} errors" if run.errors else ""),
        file=sys.stderr,
    )
    return run


def _warm_up(
    server: GunicornServer, config: LoadConfig, scenarios: Sequence[Scenario], variants: Sequence[Variant]
) -> None:
    # Warm every worker (imports, Bolt's thread pools, URL resolution) before anything counts; the
    # Python client does it whatever measures later, because only it takes fractions of a second.
    warmer = PythonClient(max_requests=config.max_requests)
    for scenario in scenarios:
        for variant in variants:
            measured = warmer.start(
                server.url(variant.path),
                scenario,
                signed_headers(scenario.body),
                config.warmup_s,
                config.connections,
            ).result()
            if measured.responses == 0 or measured.errors:
                raise RuntimeError(
                    f"warm-up of {variant.label} / {scenario.label}: "
                    f"{measured.responses} responses, {measured.errors} errors\n{server.log_tail()}"
                )
