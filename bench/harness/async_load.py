"""Part D, load: an ``AsyncApp`` under uvicorn vs the sync ``App`` under gunicorn, waiting on Slack.

Both apps have the same slash command, whose listener calls ``chat.postMessage`` before it acknowledges;
a :class:`~django_slack_bolt.testing.FakeSlack` on 127.0.0.1, started here, answers that call after
``--async-slack-latency`` (50 ms). So a request takes at least that long, and what a server sustains
depends on how many requests it can keep waiting at once: a gthread worker one per thread, an asyncio
worker as many as its CPU allows. Both servers run at once, with the same number of worker processes,
each serving only its own app (:mod:`project.urls_sync_server`, :mod:`project.urls_async_server`); the
variants take turns at each concurrency, in rotating order. A third variant, a bare async view making
the same call without Bolt, shows what Django's async path and the call cost by themselves; and the
fake Slack alone, loaded straight at the end, shows what it can answer.

Per run: req/s, p50 and p99 (wrk's), errors, each worker's resident memory at the end of the run
(VmRSS), the workers' CPU time per request, the fake Slack's CPU (it runs in this process), and the
``chat.postMessage`` calls it received.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django_slack_bolt.testing import FakeSlack
from project import environment
from project.common import (
    ASYNC_SERVER_BARE_CALL_PATH,
    ASYNC_SERVER_EVENTS_PATH,
    BOT_TOKEN,
    POSTING_CHANNEL,
    SYNC_SERVER_EVENTS_PATH,
)
from project.payloads import FORM, POSTING_SCENARIO, Scenario, signed_headers

from .authorize import wait_until_quiet
from .clients import LoadClient, PythonClient, RunningLoad, WrkClient, choose_client
from .inprocess import BenchmarkError
from .load import PAUSE_S, LoadConfig, start_evenly
from .server import GunicornServer, ServerProcess, UvicornServer, WorkerStats

POST_MESSAGE = "chat.postMessage"
SYNC, ASYNC = "sync", "async"


@dataclass(frozen=True)
class AsyncLoadConfig:
    rounds: int
    duration_s: int  # wrk takes whole seconds
    warmup_s: float
    concurrencies: tuple[int, ...]
    workers: int  # worker processes, for both servers
    threads: int  # gunicorn's threads per worker
    slack_latency_s: float
    client: str  # "auto", "wrk" or "python"
    max_starts: int
    uvicorn_as_shipped: bool = False
    wrk_threads: int = 2
    max_requests: int = 200_000


@dataclass(frozen=True)
class LoadVariant:
    key: str
    label: str
    server: str  # SYNC or ASYNC
    path: str
    expect_in_body: str


LOAD_VARIANTS: tuple[LoadVariant, ...] = (
    LoadVariant(
        "sync_app", "App, gunicorn gthread (SlackEventsView)", SYNC, SYNC_SERVER_EVENTS_PATH, "bench ok"
    ),
    LoadVariant(
        "async_app", "AsyncApp, uvicorn (AsyncSlackEventsView)", ASYNC, ASYNC_SERVER_EVENTS_PATH, "bench ok"
    ),
    LoadVariant(
        "async_bare_call", "bare async view, the same call, no Bolt", ASYNC, ASYNC_SERVER_BARE_CALL_PATH, "ok"
    ),
)
LOAD_VARIANTS_BY_KEY = {variant.key: variant for variant in LOAD_VARIANTS}
FAKE_ALONE = "fake_alone"


@dataclass(frozen=True)
class AsyncLoadRun:
    variant: str
    concurrency: int
    round_index: int
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p99_ms: float
    abandoned: int  # left unanswered by the client when the run ended (the server still handles them)
    web_api_calls: int | None  # chat.postMessage calls the fake received for the run
    rss_kb: list[int] = field(default_factory=list)  # each worker's VmRSS at the end of the run, by pid
    hwm_kb: list[int] = field(default_factory=list)  # each worker's VmHWM then
    server_cpu_s: float | None = None  # the workers' CPU time for the run, its leftovers included
    fake_cpu_cores: float | None = None  # this process's CPU (the fake Slack's) over the run, in cores
    split: list[int] | None = None
    starts: int = 1
    balanced: bool = True

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        handled = self.requests + self.abandoned
        return self.server_cpu_s * 1000 / handled if self.server_cpu_s is not None and handled else None

    def as_dict(self) -> dict[str, object]:
        return {
            **self.__dict__,
            "requests_per_s": self.requests_per_s,
            "cpu_ms_per_request": self.cpu_ms_per_request,
        }


@dataclass
class AsyncLoadReport:
    client: str
    servers: dict[str, str]  # SYNC / ASYNC: the server's description
    start_rss_kb: dict[str, list[int]]  # each worker's VmRSS once every worker had answered, by pid
    runs: list[AsyncLoadRun]
    fake_alone: list[AsyncLoadRun]
    fake_alone_skipped: str | None = None


def run_async_load(config: AsyncLoadConfig, bench_dir: Path) -> AsyncLoadReport:
    with tempfile.TemporaryDirectory(prefix="django-slack-bolt-bench-") as tmp, FakeSlack() as fake:
        workdir = Path(tmp)
        _reset(fake, config)
        client = choose_client(config.client, workdir, config.max_requests, config.wrk_threads)
        print(f"  load client: {client.description}; fake Slack at {fake.url}", file=sys.stderr)
        env = {environment.WEB_API_URL: fake.url}
        servers: dict[str, ServerProcess] = {
            SYNC: GunicornServer(
                bench_dir,
                config.workers,
                config.threads,
                workdir / "gunicorn.log",
                {**env, environment.URLCONF: "project.urls_sync_server"},
            ),
            ASYNC: UvicornServer(
                bench_dir,
                config.workers,
                workdir / "uvicorn.log",
                {**env, environment.URLCONF: "project.urls_async_server"},
                as_shipped=config.uvicorn_as_shipped,
            ),
        }
        with contextlib.ExitStack() as stack:
            for server in servers.values():  # both start at once; each waits for its own
                stack.callback(server.__exit__)
                server.start()
            for server in servers.values():
                server.wait_until_ready(timeout_s=60)
                server.wait_for_every_worker(timeout_s=60)
                print(f"  server: {server.description} on {server.url('/')}", file=sys.stderr)
            for variant in LOAD_VARIANTS:
                _verify(servers[variant.server], variant, fake, config)
            start_rss = {
                name: [stat.rss_kb for stat in server.worker_stats()] for name, server in servers.items()
            }
            for variant in LOAD_VARIANTS:
                _warm_up(servers[variant.server], variant, config)
            runs = []
            for round_index in range(config.rounds):
                for concurrency in config.concurrencies:
                    shift = round_index % len(LOAD_VARIANTS)
                    for variant in [*LOAD_VARIANTS[shift:], *LOAD_VARIANTS[:shift]]:
                        runs.append(
                            _measure(
                                client,
                                servers[variant.server],
                                fake,
                                config,
                                variant,
                                concurrency,
                                round_index,
                            )
                        )
            descriptions = {name: server.description for name, server in servers.items()}
        fake_alone: list[AsyncLoadRun] = []
        skipped = None
        if isinstance(client, WrkClient):
            for concurrency in config.concurrencies:
                fake_alone.append(_fake_alone(client, fake, config, concurrency))
        else:
            # The Python client would run in this process, on the fake's own GIL: it would measure itself.
            skipped = "needs wrk (the Python client would share the fake Slack's process)"
        return AsyncLoadReport(client.description, descriptions, start_rss, runs, fake_alone, skipped)


def _reset(fake: FakeSlack, config: AsyncLoadConfig) -> None:
    """Forget the recorded calls (they hold memory in this process), keep the latency."""
    fake.reset()
    fake.set_latency(config.slack_latency_s, method=POST_MESSAGE)


def _posted(fake: FakeSlack) -> int:
    return len(fake.calls_to(POST_MESSAGE))


def _quiet_s(config: AsyncLoadConfig) -> float:
    return config.slack_latency_s + PAUSE_S


def _post(url: str, scenario: Scenario) -> tuple[int, bytes]:
    parsed = urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        headers = {"Content-Type": scenario.content_type, **signed_headers(scenario.body)}
        conn.request("POST", parsed.path, scenario.body.encode(), headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _verify(server: ServerProcess, variant: LoadVariant, fake: FakeSlack, config: AsyncLoadConfig) -> None:
    """One request: the expected answer, and exactly one chat.postMessage made for it."""
    before = _posted(fake)
    status, content = _post(server.url(variant.path), POSTING_SCENARIO)
    wait_until_quiet(fake, _quiet_s(config))
    calls = _posted(fake) - before
    if status != 200 or variant.expect_in_body.encode() not in content or calls != 1:
        raise BenchmarkError(
            f"{variant.label} answered {status} {content[:200]!r} after {calls} {POST_MESSAGE} call(s); "
            f"expected 200 containing {variant.expect_in_body!r} after one\n{server.log_tail()}"
        )


def _warm_up(server: ServerProcess, variant: LoadVariant, config: AsyncLoadConfig) -> None:
    # Every worker's imports, pools and first connections, before anything counts; through the
    # Python client, which takes fractions of a second.
    measured = (
        PythonClient(config.max_requests)
        .start(
            server.url(variant.path),
            POSTING_SCENARIO,
            signed_headers(POSTING_SCENARIO.body),
            config.warmup_s,
            max(config.concurrencies),
        )
        .result()
    )
    if measured.responses == 0 or measured.errors:
        raise RuntimeError(
            f"warm-up of {variant.label}: {measured.responses} responses, {measured.errors} errors\n"
            f"{server.log_tail()}"
        )


def _balanced(server: str, concurrency: int, config: AsyncLoadConfig) -> Callable[[list[int] | None], bool]:
    """Whether a run's connections are spread well enough over the workers to measure the server.

    gunicorn: every thread has a connection. uvicorn: every worker has at least half its share (its
    workers race for connections like gunicorn's; one holding them all would measure one core).
    """

    def judge(split: list[int] | None) -> bool:
        if split is None:
            return True  # /proc cannot tell: take the run as it comes
        if server == SYNC:
            return min(split) >= min(config.threads, concurrency // config.workers)
        return min(split) >= concurrency // (2 * config.workers)

    return judge


def _cpu(stats: Sequence[WorkerStats]) -> float:
    return sum(stat.cpu_s for stat in stats)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _measure(
    client: LoadClient,
    server: ServerProcess,
    fake: FakeSlack,
    config: AsyncLoadConfig,
    variant: LoadVariant,
    concurrency: int,
    round_index: int,
) -> AsyncLoadRun:
    url = server.url(variant.path)
    marks: dict[str, float] = {}

    def pause() -> None:
        # The previous run's leftovers done (their calls made), then its calls forgotten.
        wait_until_quiet(fake, _quiet_s(config))
        _reset(fake, config)

    def start() -> RunningLoad:
        marks.update(
            server_cpu=_cpu(server.worker_stats()),
            own_cpu=_own_cpu(),
            wall=time.perf_counter(),
            posted=_posted(fake),
        )
        # Signed right before each start: the timestamp must be within five minutes while it lasts.
        return client.start(
            url, POSTING_SCENARIO, signed_headers(POSTING_SCENARIO.body), config.duration_s, concurrency
        )

    load = LoadConfig(
        rounds=config.rounds,
        duration_s=config.duration_s,
        warmup_s=config.warmup_s,
        connections=concurrency,
        workers=config.workers,
        threads=config.threads,
        client=config.client,
        max_starts=config.max_starts,
    )
    started = start_evenly(server, load, start, pause, _balanced(variant.server, concurrency, config))
    measured = started.running.result()
    fake_cores = (_own_cpu() - marks["own_cpu"]) / (time.perf_counter() - marks["wall"])
    at_end = server.worker_stats()  # "at the end of each round": right as the load stops
    wait_until_quiet(fake, _quiet_s(config))  # the requests left unanswered are handled by now
    run = AsyncLoadRun(
        variant=variant.key,
        concurrency=concurrency,
        round_index=round_index,
        requests=measured.responses,
        duration_s=measured.seconds,
        errors=measured.errors,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        abandoned=measured.abandoned,
        web_api_calls=_posted(fake) - int(marks["posted"]),
        rss_kb=[stat.rss_kb for stat in at_end],
        hwm_kb=[stat.hwm_kb for stat in at_end],
        server_cpu_s=_cpu(server.worker_stats()) - marks["server_cpu"],
        fake_cpu_cores=fake_cores,
        split=started.split,
        starts=started.starts,
        balanced=started.every_thread_busy,
    )
    print(
        f"  async load round {round_index + 1}/{config.rounds} c{concurrency} {variant.label}: "
        f"{run.requests_per_s:.0f} req/s, p99 {run.p99_ms:.0f} ms, "
        f"RSS {[kb // 1024 for kb in run.rss_kb]} MB, "
        f"{run.web_api_calls} calls, connections per worker {started.split}"
        + (f", {started.starts} starts" if started.starts > 1 else "")
        + (f", {run.errors} errors" if run.errors else ""),
        file=sys.stderr,
    )
    return run


def _fake_alone(
    client: WrkClient, fake: FakeSlack, config: AsyncLoadConfig, concurrency: int
) -> AsyncLoadRun:
    """The fake Slack's own capacity: wrk straight at chat.postMessage, on keep-alive connections."""
    wait_until_quiet(fake, _quiet_s(config))
    _reset(fake, config)
    call = Scenario(
        "post_message", POST_MESSAGE, urlencode({"channel": POSTING_CHANNEL, "text": "bench"}), FORM, False
    )
    before_cpu, before_wall = _own_cpu(), time.perf_counter()
    running = client.start(
        fake.url + POST_MESSAGE,
        call,
        {"Authorization": f"Bearer {BOT_TOKEN}"},
        config.duration_s,
        concurrency,
    )
    measured = running.result()
    cores = (_own_cpu() - before_cpu) / (time.perf_counter() - before_wall)
    wait_until_quiet(fake, _quiet_s(config))
    run = AsyncLoadRun(
        variant=FAKE_ALONE,
        concurrency=concurrency,
        round_index=0,
        requests=measured.responses,
        duration_s=measured.seconds,
        errors=measured.errors,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        abandoned=measured.abandoned,
        web_api_calls=_posted(fake),
        fake_cpu_cores=cores,
    )
    _reset(fake, config)
    print(
        f"  fake Slack alone c{concurrency}: {run.requests_per_s:.0f} req/s, p99 {run.p99_ms:.0f} ms, "
        f"{cores:.2f} cores",
        file=sys.stderr,
    )
    return run
