"""Part C: authorizing requests from many workspaces, Bolt's default vs ``DjangoAuthorize``.

Both apps read the same installations from this run's database and are served by our adapter; they
differ only in ``authorize``. Bolt's default (``InstallationStoreAuthorize``, what
``App(installation_store=...)`` builds) calls ``auth.test`` on every request; the fake Slack answers
it after ``--slack-latency`` (100 ms, about what Slack takes). ``DjangoAuthorize`` builds the result
from the installation and keeps it in Django's cache.

First, in this process, every workspace's request once cold and once warm through each app: the
database queries and the Web API calls of each request, and a check that each app authorized the
workspace with its own bot. Then a real gunicorn, driven like the load part, with each client
request going to the next workspace in turn.
"""

from __future__ import annotations

import contextlib
import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.testing import FakeSlack
from project import environment, slack_apps
from project.payloads import JSON, signed_headers
from project.urls import Variant
from project.workspaces import Workspace, auth_test_answers, make_workspaces

from .clients import LoadClient, PythonClient, RunningLoad, SignedRequest, choose_client
from .inprocess import BenchmarkError
from .load import PAUSE_S, LoadConfig, start_evenly
from .server import HOST, GunicornServer

# What Bolt answers, with status 200, when authorize found nothing: the runs must never see it.
AUTHORIZATION_FAILED = b"your installation with this app is no longer available"
# How long a listener thread may take to record what it was given.
LISTENER_TIMEOUT_S = 5.0
# How long gunicorn may take to finish what a run left it (Bolt's: 16 requests of 100 ms at most).
DRAIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class AuthorizeConfig:
    workspaces: int
    slack_latency_s: float
    # The gunicorn runs: rounds, duration, connections, workers, threads, client, as in the load part.
    load: LoadConfig


@dataclass(frozen=True)
class PerRequest:
    """Per request, in-process, over one request to each workspace: cold (cache empty) or warm."""

    variant: str
    request: str  # "cold" or "warm"
    requests: int
    db_queries: int
    web_api_calls: int
    median_ms: float

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuthorizeRun:
    variant: str
    round_index: int
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p99_ms: float
    # Web API calls the variant's app made for the run's requests (told apart by a header of its
    # own), and how many requests it handled: the answered ones and those the client left behind.
    web_api_calls: int
    handled: int
    split: list[int] | None
    starts: int
    every_thread_busy: bool

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


@dataclass
class AuthorizeReport:
    workspaces: int
    slack_latency_s: float
    per_request: list[PerRequest]
    client: str = ""
    server: str = ""
    runs: list[AuthorizeRun] | None = None  # None: no gunicorn
    skipped: str | None = None


def run_authorize(
    config: AuthorizeConfig, variants: Sequence[Variant], bench_dir: Path, *, with_gunicorn: bool
) -> AuthorizeReport:
    workspaces = make_workspaces(config.workspaces)
    _store_installations(workspaces)
    answers = auth_test_answers(workspaces)
    with FakeSlack() as fake:
        fake.set_latency(config.slack_latency_s, method="auth.test")
        fake.respond(
            "auth.test",
            lambda call: answers.get(call.token or "", {"ok": False, "error": "invalid_auth"}),
        )
        report = AuthorizeReport(
            workspaces=len(workspaces),
            slack_latency_s=config.slack_latency_s,
            per_request=_per_request(fake, variants, workspaces),
        )
        if not with_gunicorn:
            report.skipped = "gunicorn is not installed (pip install gunicorn)"
            return report
        with tempfile.TemporaryDirectory(prefix="django-slack-bolt-bench-") as tmp:
            report.client, report.server, report.runs = _under_gunicorn(
                config, variants, workspaces, fake, bench_dir, Path(tmp)
            )
    return report


def _store_installations(workspaces: Sequence[Workspace]) -> None:
    """Migrate this run's database and save every workspace's installation, as the OAuth flow does."""
    call_command("migrate", verbosity=0, interactive=False)
    store = DjangoInstallationStore(client_id=slack_apps.AUTH_CLIENT_ID)
    for workspace in workspaces:
        store.save(workspace.installation())
    print(f"  {len(workspaces)} installations stored", file=sys.stderr)


def _app_calls(fake: FakeSlack, variant: Variant, since: float = 0.0) -> int:
    """Web API calls made by ``variant``'s app (its clients send their own header) from ``since`` on."""
    return sum(
        1
        for call in fake.calls
        if call.time >= since
        and any(
            name.lower() == slack_apps.APP_HEADER.lower() and value == variant.key
            for name, value in call.headers.items()
        )
    )


# -- in-process: queries and calls per request ----------------------------------------------------


@contextlib.contextmanager
def _pointed_at(fake: FakeSlack) -> Iterator[None]:
    # The apps were built at import, before the fake started: their clients point at a closed port.
    with (
        fake.point_app(slack_apps.bolt_default_authorize_app),
        fake.point_app(slack_apps.django_authorize_app),
    ):
        yield


def _per_request(
    fake: FakeSlack, variants: Sequence[Variant], workspaces: Sequence[Workspace]
) -> list[PerRequest]:
    client = Client()
    rows = []
    with _pointed_at(fake):
        # Whatever saving the installations left in the cache: every workspace starts cold.
        caches["default"].clear()
        for request in ("cold", "warm"):
            for variant in variants:
                queries = calls = 0
                samples = []
                for workspace in workspaces:
                    body = workspace.app_mention_body()
                    headers = signed_headers(body)
                    slack_apps.last_authorized.pop(variant.key, None)
                    calls_before = _app_calls(fake, variant)
                    with CaptureQueriesContext(connection) as captured:
                        before = time.perf_counter()
                        response = client.post(variant.path, data=body, content_type=JSON, headers=headers)
                        samples.append((time.perf_counter() - before) * 1000)
                    queries += len(captured)
                    calls += _app_calls(fake, variant) - calls_before
                    _check_answer(variant, workspace, response.status_code, response.content)
                    _check_authorized(variant, workspace)
                rows.append(
                    PerRequest(
                        variant.key, request, len(workspaces), queries, calls, statistics.median(samples)
                    )
                )
                print(
                    f"  in-process, {request}: {variant.label}: {queries} queries, {calls} Web API calls "
                    f"in {len(workspaces)} requests",
                    file=sys.stderr,
                )
    return rows


def _check_answer(variant: Variant, workspace: Workspace, status: int, content: bytes) -> None:
    if status != 200 or content:
        raise BenchmarkError(
            f"{variant.label} answered the app_mention of {workspace.team_id} with {status} "
            f"{content[:200]!r}; expected 200 and an empty body (Bolt acknowledges events itself)"
        )


def _check_authorized(variant: Variant, workspace: Workspace) -> None:
    """The listener (in a thread of its own) was given this workspace's bot: the right installation."""
    expected = (workspace.team_id, workspace.bot_user_id, workspace.bot_id)
    deadline = time.monotonic() + LISTENER_TIMEOUT_S
    while slack_apps.last_authorized.get(variant.key) != expected:
        if time.monotonic() > deadline:
            raise BenchmarkError(
                f"{variant.label} authorized {workspace.team_id} as "
                f"{slack_apps.last_authorized.get(variant.key)}; expected {expected}"
            )
        time.sleep(0.001)


# -- gunicorn -------------------------------------------------------------------------------------


def signed_requests(workspaces: Sequence[Workspace]) -> list[SignedRequest]:
    """Every workspace's app_mention, signed now."""
    requests = []
    for workspace in workspaces:
        body = workspace.app_mention_body()
        requests.append(SignedRequest(body, {"Content-Type": JSON, **signed_headers(body)}))
    return requests


def _under_gunicorn(
    config: AuthorizeConfig,
    variants: Sequence[Variant],
    workspaces: Sequence[Workspace],
    fake: FakeSlack,
    bench_dir: Path,
    workdir: Path,
) -> tuple[str, str, list[AuthorizeRun]]:
    load = config.load
    client = choose_client(load.client, workdir, load.max_requests)
    print(f"  load client: {client.description}", file=sys.stderr)
    env = {environment.WEB_API_URL: fake.url}
    with GunicornServer(bench_dir, load.workers, load.threads, workdir / "gunicorn.log", env) as server:
        print(f"  server: {server.description} on {HOST}:{server.port}, Slack at {fake.url}", file=sys.stderr)
        for variant in variants:
            _verify(server, variant, workspaces, load.connections)
            _warm_up(server, variant, workspaces, load)
        runs = []
        for round_index in range(load.rounds):
            shift = round_index % len(variants)
            for variant in [*variants[shift:], *variants[:shift]]:
                runs.append(
                    _measure(
                        client, server, fake, load, config.slack_latency_s, variant, workspaces, round_index
                    )
                )
        return client.description, server.description, runs


def _post(url: str, request: SignedRequest) -> tuple[int, bytes]:
    parsed = urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request("POST", parsed.path, request.body.encode(), request.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _verify(server: GunicornServer, variant: Variant, workspaces: Sequence[Workspace], parallel: int) -> None:
    """Every workspace once, in parallel: 200 and Bolt's empty event acknowledgement, never its
    "installation no longer available" (what a failed authorization answers, also with 200)."""
    url = server.url(variant.path)
    requests = signed_requests(workspaces)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        answers = list(pool.map(lambda request: _post(url, request), requests))
    for workspace, (status, content) in zip(workspaces, answers, strict=True):
        if status != 200 or content:
            raise BenchmarkError(
                f"gunicorn: {variant.label} answered {workspace.team_id} with {status} {content[:200]!r}"
                + (" (authorization failed)" if AUTHORIZATION_FAILED in content else "")
                + f"\n{server.log_tail()}"
            )


def _warm_up(
    server: GunicornServer, variant: Variant, workspaces: Sequence[Workspace], load: LoadConfig
) -> None:
    # Every worker's cache and connections, as in the load part; always through the Python client.
    measured = (
        PythonClient(load.max_requests)
        .start_rotating(
            server.url(variant.path), signed_requests(workspaces), load.warmup_s, load.connections
        )
        .result()
    )
    if measured.responses == 0 or measured.errors:
        raise RuntimeError(
            f"warm-up of {variant.label}: {measured.responses} responses, {measured.errors} errors\n"
            f"{server.log_tail()}"
        )


def wait_until_quiet(fake: FakeSlack, quiet_s: float) -> None:
    """Until the fake Slack has had no call for ``quiet_s``: gunicorn is done with the last run.

    A worker still busy with the previous run's leftovers (Bolt's default: up to 16 requests of
    100 ms each on 4 threads) loses the race for the next run's connections to the idle one, so the
    next start would come out lopsided, and the one after too, the other way round.
    """
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    seen = len(fake.calls)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = len(fake.calls)
        if now == seen:
            return
        seen = now


def _measure(
    client: LoadClient,
    server: GunicornServer,
    fake: FakeSlack,
    load: LoadConfig,
    slack_latency_s: float,
    variant: Variant,
    workspaces: Sequence[Workspace],
    round_index: int,
) -> AuthorizeRun:
    url = server.url(variant.path)
    started_at: list[float] = []

    def start() -> RunningLoad:
        started_at.append(time.time())
        # Signed right before each start: the timestamps must stay within Slack's five minutes.
        return client.start_rotating(url, signed_requests(workspaces), load.duration_s, load.connections)

    quiet_s = slack_latency_s + PAUSE_S
    started = start_evenly(server, load, start, pause=lambda: wait_until_quiet(fake, quiet_s))
    measured = started.running.result()
    # Every call the run caused, those of the requests the client left unanswered included (wrk
    # leaves one per connection; the server still handles them).
    wait_until_quiet(fake, quiet_s)
    calls = _app_calls(fake, variant, since=started_at[-1])
    run = AuthorizeRun(
        variant=variant.key,
        round_index=round_index,
        requests=measured.responses,
        duration_s=measured.seconds,
        errors=measured.errors,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        web_api_calls=calls,
        handled=measured.responses + measured.abandoned,
        split=started.split,
        starts=started.starts,
        every_thread_busy=started.every_thread_busy,
    )
    print(
        f"  authorize round {round_index + 1}/{load.rounds} {variant.label}: "
        f"{run.requests_per_s:.0f} req/s, p99 {run.p99_ms:.1f} ms, "
        f"{calls} Web API calls for {run.handled} requests, connections per worker {started.split}"
        + (f", {started.starts} starts" if started.starts > 1 else "")
        + (f", {run.errors} errors" if run.errors else ""),
        file=sys.stderr,
    )
    return run
