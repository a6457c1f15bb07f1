"""The benchmark: Bolt's Django adapter vs django-slack-bolt, against a bare Django view.

Part A times single requests in-process through Django's test client; part B loads a real gunicorn
on 127.0.0.1; part C compares authorization from stored installations (Bolt's default, which calls
auth.test on every request, vs DjangoAuthorize) over many workspaces, in-process and under gunicorn;
part D serves an AsyncApp through our async views, in-process and under uvicorn, against the sync App
under gunicorn, with listeners that wait on Slack's Web API; part E (stores) times our installation store
and a cold DjangoAuthorize against slack_sdk's SQLAlchemy store, on SQLite and (--postgres) PostgreSQL;
part F (lazy) times /ping while slow lazy listeners hold their threads, through each adapter.
Every comparison is made within this one run, with the variants interleaved, and is reported as a
ratio. ``python bench/run.py --help`` lists the options; ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

BENCH_DIR = Path(__file__).resolve().parent
# Forced, not defaulted: a caller (pytest-django, a shell) may have set its own settings module.
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
from project import environment  # noqa: E402

# Every run gets a fresh database (removed at exit) and token encryption key, set before the
# settings are read; the gunicorn servers it starts inherit both.
_RUN_DIR = tempfile.TemporaryDirectory(prefix="django-slack-bolt-bench-run-")
os.environ[environment.DATABASE] = os.path.join(_RUN_DIR.name, "bench.sqlite3")
os.environ[environment.TOKEN_KEY] = Fernet.generate_key().decode()


def _postgres_from_argv(argv: list[str]) -> str | None:
    """``--postgres URL`` of the command line: the settings read it, so it is taken before they are."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--postgres")
    return early.parse_known_args(argv)[0].postgres


# The stores part's PostgreSQL server becomes a database alias of the settings; an empty --postgres
# turns off the one the environment names.
if (_postgres := _postgres_from_argv(sys.argv[1:])) is not None:
    os.environ[environment.POSTGRES] = _postgres

import django  # noqa: E402

django.setup()

from harness import report  # noqa: E402
from harness.async_inprocess import run_async_in_process  # noqa: E402
from harness.async_load import AsyncLoadConfig, run_async_load  # noqa: E402
from harness.authorize import AuthorizeConfig, run_authorize  # noqa: E402
from harness.inprocess import InProcessConfig, run_in_process  # noqa: E402
from harness.lazy import LazyConfig, run_lazy  # noqa: E402
from harness.load import LoadConfig, run_load  # noqa: E402
from harness.server import uvicorn_loop_and_http  # noqa: E402
from harness.stores import StoresConfig, run_stores  # noqa: E402
from project.payloads import SCENARIOS, SCENARIOS_BY_KEY  # noqa: E402
from project.urls import ASYNC_VARIANTS, AUTHORIZE_VARIANTS, HAS_AIOHTTP, LAZY_VARIANTS, VARIANTS  # noqa: E402

PARTS = ("inprocess", "load", "authorize", "async", "stores", "lazy")

# Sized so that part A takes about a minute and a half on a 2-core machine (Bolt's ack-polling
# cells alone are 2 x 1,200 x 11 ms), and part B about as long.
FULL = {
    "rounds": 25,
    "iterations": 6000,
    "slow_iterations": 1200,
    "warmup": 50,
    # Many short load rounds rather than a few long ones: the machine's noise comes in spells of
    # seconds, and the median over rounds shrugs off the rounds it hits.
    "load_rounds": 5,
    "load_duration": 2,
    "load_warmup": 1.0,
    "load_max_starts": 10,
    # The authorization part: Bolt's default serves about 70 req/s (8 threads, 100 ms auth.test each),
    # so its rounds are longer, for a few hundred requests a round. About a minute in all.
    "workspaces": 50,
    "auth_rounds": 5,
    "auth_duration": 3,
    "auth_warmup": 1.0,
    # The async part: about two and a half minutes. Under load, 3 variants x 2 concurrencies a round,
    # about 4.5 s a run with the pauses; in-process, Bolt's runner takes >= 10 ms a request.
    "async_concurrency": "50,200",
    "async_rounds": 4,
    "async_duration": 3,
    "async_warmup": 1.0,
    "async_inprocess_rounds": 10,
    "async_iterations": 3000,
    "async_slow_iterations": 300,
    # The stores part: about 20 s on SQLite, a minute on PostgreSQL (a call takes 0.1-1 ms, 1-3 there).
    "store_workspaces": 50,
    "store_users": 5,
    "store_rounds": 10,
    "store_iterations": 5000,
    "store_warmup": 200,
    # The lazy part: about 35 s, nearly all of it Bolt's adapter waiting out its 3 s ack timeout (the
    # /report commands queued behind the lazy listeners, then each ping).
    "lazy_in_flight": 20,
    "lazy_rounds": 5,
    "lazy_pings": 50,
    "lazy_bolt_pings": 5,
    "lazy_warmup": 5,
}
# A smoke run: every code path, almost no samples. The numbers mean nothing.
QUICK = {
    "rounds": 2,
    "iterations": 20,
    "slow_iterations": 4,
    "warmup": 2,
    "load_rounds": 1,
    "load_duration": 1,
    "load_warmup": 0.2,
    "load_max_starts": 2,
    "workspaces": 10,
    "auth_rounds": 1,
    "auth_duration": 1,
    "auth_warmup": 0.2,
    # A second at 200 connections may end before a slow server (asyncio, h11) answers anything.
    "async_concurrency": "8,16",
    "async_rounds": 1,
    "async_duration": 1,
    "async_warmup": 0.2,
    "async_inprocess_rounds": 2,
    "async_iterations": 20,
    "async_slow_iterations": 4,
    "store_workspaces": 4,
    "store_users": 2,
    "store_rounds": 2,
    "store_iterations": 16,
    "store_warmup": 4,
    # One more than Bolt's five listener threads, so its /ping still waits (one ping: 3 s).
    "lazy_in_flight": 6,
    "lazy_rounds": 1,
    "lazy_pings": 5,
    "lazy_bolt_pings": 1,
    "lazy_warmup": 1,
}
# Slack's signature is valid for five minutes; a load run signs once, so it must end well before.
MAX_LOAD_DURATION_S = 240


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny counts (seconds)")
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "results",
        help="directory for latest.md and latest.json (default: bench/results)",
    )
    parser.add_argument(
        "--part",
        "--parts",
        dest="part",
        default="all",
        help=f"the parts to run, comma-separated, of: {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS_BY_KEY),
        help=f"in-process scenarios, comma-separated, of: {', '.join(SCENARIOS_BY_KEY)} (default: all)",
    )
    group = parser.add_argument_group("in-process part")
    group.add_argument("--rounds", type=int, help=f"interleaved rounds (default {FULL['rounds']})")
    group.add_argument(
        "--iterations", type=int, help=f"requests per scenario and variant (default {FULL['iterations']})"
    )
    group.add_argument(
        "--slow-iterations",
        type=int,
        help=f"requests where Bolt polls for ack() every 10 ms (default {FULL['slow_iterations']})",
    )
    group.add_argument("--warmup", type=int, help="untimed requests per cell first")
    group.add_argument(
        "--pin-cpu",
        type=int,
        metavar="CPU",
        help="run the in-process part on this one CPU (Linux): shows what the listener thread's "
        "hops between cores cost",
    )
    group = parser.add_argument_group("load part")
    group.add_argument("--load-rounds", type=int, help=f"rounds per variant (default {FULL['load_rounds']})")
    group.add_argument(
        "--load-duration", type=int, help=f"whole seconds per run (default {FULL['load_duration']})"
    )
    group.add_argument("--load-warmup", type=float, help="seconds of untimed load per cell first")
    group.add_argument(
        "--load-max-starts",
        type=int,
        help="starts of a run at most, until gunicorn spreads the connections so that no thread idles",
    )
    group.add_argument(
        "--load-scenarios",
        # The block action behaves like the slash command under load; leaving it out buys more rounds.
        default="slash_command,app_mention",
        help="scenarios of the load part, comma-separated (default: slash_command,app_mention)",
    )
    group.add_argument(
        "--load-client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load client of the load and authorization parts (default: wrk when installed)",
    )
    group.add_argument(
        "--connections",
        type=int,
        # Twice the server's threads: gunicorn spreads connections unevenly over its workers, and
        # with this many a start leaves no thread idle about half the time (see harness/server.py).
        default=16,
        help="concurrent keep-alive connections (default 16: twice gunicorn's threads)",
    )
    group.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    group.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    group = parser.add_argument_group(
        "authorization part (also uses --connections, --workers, --threads, --load-client, --load-max-starts)"
    )
    group.add_argument(
        "--workspaces",
        type=int,
        help=f"installations stored, one per workspace (default {FULL['workspaces']})",
    )
    group.add_argument(
        "--slack-latency",
        type=float,
        default=0.1,
        help="seconds the fake Slack takes to answer auth.test (default 0.1)",
    )
    group.add_argument("--auth-rounds", type=int, help=f"rounds per variant (default {FULL['auth_rounds']})")
    group.add_argument(
        "--auth-duration", type=int, help=f"whole seconds per run (default {FULL['auth_duration']})"
    )
    group.add_argument("--auth-warmup", type=float, help="seconds of untimed load per variant first")
    group = parser.add_argument_group(
        "async part (also uses --workers, --threads, --load-client, --load-max-starts)"
    )
    group.add_argument(
        "--async-concurrency",
        help="concurrent connections of the load runs, comma-separated "
        f"(default: {FULL['async_concurrency']}; --quick: {QUICK['async_concurrency']})",
    )
    group.add_argument(
        "--async-slack-latency",
        type=float,
        default=0.05,
        help="seconds the fake Slack takes to answer chat.postMessage (default 0.05)",
    )
    group.add_argument(
        "--async-rounds",
        type=int,
        help=f"load rounds per concurrency and variant (default {FULL['async_rounds']})",
    )
    group.add_argument(
        "--async-duration", type=int, help=f"whole seconds per load run (default {FULL['async_duration']})"
    )
    group.add_argument("--async-warmup", type=float, help="seconds of untimed load per variant first")
    group.add_argument(
        "--async-wrk-threads", type=int, default=2, help="wrk threads of the async load runs (default 2)"
    )
    group.add_argument(
        "--uvicorn-as-shipped",
        action="store_true",
        help="run `uvicorn --workers N` itself, whose connections keep Nagle's algorithm under "
        "asyncio's loop (uvicorn issue #3149: 40 ms more per keep-alive request), instead of "
        "harness/uvicorn_nodelay.py",
    )
    group.add_argument(
        "--async-inprocess-rounds",
        type=int,
        help=f"interleaved in-process rounds (default {FULL['async_inprocess_rounds']})",
    )
    group.add_argument(
        "--async-iterations",
        type=int,
        help=f"in-process requests per variant (default {FULL['async_iterations']})",
    )
    group.add_argument(
        "--async-slow-iterations",
        type=int,
        help="in-process requests through Bolt's asyncio runner, which polls for ack() every 10 ms "
        f"(default {FULL['async_slow_iterations']})",
    )
    group = parser.add_argument_group("stores part")
    group.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(environment.POSTGRES) or None,
        help="a PostgreSQL server to run the stores part on too, as "
        f"postgresql://USER[:PASSWORD]@HOST:PORT/DBNAME (default: ${environment.POSTGRES}); a throwaway "
        "database: the part migrates it, and adds and removes rows and tables of its own",
    )
    group.add_argument(
        "--store-workspaces",
        type=int,
        help=f"workspaces stored in each store (default {FULL['store_workspaces']})",
    )
    group.add_argument(
        "--store-users",
        type=int,
        help=f"users per workspace, each with an installation of their own (default {FULL['store_users']})",
    )
    group.add_argument(
        "--store-rounds", type=int, help=f"interleaved rounds (default {FULL['store_rounds']})"
    )
    group.add_argument(
        "--store-iterations",
        type=int,
        help=f"calls per operation, store and database (default {FULL['store_iterations']})",
    )
    group.add_argument("--store-warmup", type=int, help="untimed calls per operation and store first")
    group = parser.add_argument_group("lazy part")
    group.add_argument(
        "--lazy-in-flight",
        type=int,
        help=f"slow lazy listeners in flight while /ping is timed (default {FULL['lazy_in_flight']})",
    )
    group.add_argument("--lazy-rounds", type=int, help=f"interleaved rounds (default {FULL['lazy_rounds']})")
    group.add_argument(
        "--lazy-pings",
        type=int,
        help=f"pings per adapter, idle and busy (default {FULL['lazy_pings']})",
    )
    group.add_argument(
        "--lazy-bolt-pings",
        type=int,
        help="pings through Bolt's adapter with the lazy listeners in flight, 3 s each "
        f"(default {FULL['lazy_bolt_pings']})",
    )
    group.add_argument("--lazy-warmup", type=int, help="untimed pings per adapter first")
    args = parser.parse_args(argv)

    profile = QUICK if args.quick else FULL
    for name, value in profile.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    unknown = {*args.scenarios.split(","), *args.load_scenarios.split(",")} - set(SCENARIOS_BY_KEY)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    parts = {part.strip() for part in args.part.split(",")}
    if not parts <= {"all", *PARTS}:
        parser.error(
            f"unknown part(s): {', '.join(sorted(parts - {'all', *PARTS}))}; choose from {', '.join(PARTS)}"
        )
    args.parts = set(PARTS) if "all" in parts else parts
    try:
        args.async_concurrencies = tuple(int(c) for c in args.async_concurrency.split(","))
    except ValueError:
        parser.error(f"--async-concurrency: not comma-separated numbers: {args.async_concurrency!r}")
    durations = (
        ("--load-duration", args.load_duration),
        ("--auth-duration", args.auth_duration),
        ("--async-duration", args.async_duration),
    )
    for name, duration in durations:
        if not 1 <= duration <= MAX_LOAD_DURATION_S:
            parser.error(f"{name} must be 1..{MAX_LOAD_DURATION_S} s (Slack's signature window)")
    counts = (args.rounds, args.iterations, args.slow_iterations, args.load_rounds, args.load_max_starts)
    async_counts = (
        args.async_rounds,
        args.async_inprocess_rounds,
        args.async_iterations,
        args.async_slow_iterations,
        args.async_wrk_threads,
        *args.async_concurrencies,
    )
    part_counts = (
        args.store_workspaces,
        args.store_users,
        args.store_rounds,
        args.store_iterations,
        args.lazy_in_flight,
        args.lazy_rounds,
        args.lazy_pings,
        args.lazy_bolt_pings,
    )
    if (
        min(
            *counts,
            args.connections,
            args.workers,
            args.threads,
            args.workspaces,
            args.auth_rounds,
            *async_counts,
            *part_counts,
        )
        < 1
    ):
        parser.error("counts must be positive")
    if (args.postgres or "") != os.environ.get(environment.POSTGRES, ""):
        # main(argv) called with another --postgres than the command line's: the settings missed it.
        parser.error(
            f"--postgres is read when Django starts: give it on the command line or in {environment.POSTGRES}"
        )
    if args.slack_latency < 0 or args.async_slack_latency < 0:
        parser.error("--slack-latency and --async-slack-latency must not be negative")
    return args


@contextlib.contextmanager
def pinned_to(cpu: int | None) -> Iterator[None]:
    """Run the block on one CPU only, then allow every CPU again (for gunicorn and wrk, which inherit it).

    The listener threads that Bolt starts meanwhile inherit the pin and keep it; they are idle later.
    """
    if cpu is None:
        yield
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def run_async_part(args: argparse.Namespace, has_gunicorn: bool) -> dict[str, Any]:
    """Part D: the AsyncApp in-process, then under uvicorn against the sync App under gunicorn."""
    part_started = time.perf_counter()
    loop, http_impl = uvicorn_loop_and_http()
    in_process_config = InProcessConfig(
        args.async_inprocess_rounds, args.async_iterations, args.async_slow_iterations, args.warmup
    )
    load_config = AsyncLoadConfig(
        rounds=args.async_rounds,
        duration_s=args.async_duration,
        warmup_s=args.async_warmup,
        concurrencies=args.async_concurrencies,
        workers=args.workers,
        threads=args.threads,
        slack_latency_s=args.async_slack_latency,
        client=args.load_client,
        max_starts=args.load_max_starts,
        uvicorn_as_shipped=args.uvicorn_as_shipped,
        wrk_threads=args.async_wrk_threads,
    )
    config = {
        "inprocess_rounds": in_process_config.rounds,
        "iterations": in_process_config.iterations,
        "slow_iterations": in_process_config.slow_iterations,
        **load_config.__dict__,
        "uvicorn_loop": loop,
        "uvicorn_http": http_impl,
    }
    skipped: dict[str, str] = {}
    cells = None
    if HAS_AIOHTTP:
        print(f"Async part, in-process: {in_process_config}", file=sys.stderr)
        cells = run_async_in_process(in_process_config, SCENARIOS_BY_KEY["slash_command"], ASYNC_VARIANTS)
    else:
        skipped["In-process"] = 'aiohttp is not installed (pip install "django-slack-bolt[async]")'
    load = None
    missing = [
        name
        for name, present in (
            ("aiohttp", HAS_AIOHTTP),
            ("uvicorn", importlib.util.find_spec("uvicorn") is not None),
            ("gunicorn", has_gunicorn),
        )
        if not present
    ]
    if missing:
        skipped["Under load"] = f"not installed: {', '.join(missing)} (pip install -r bench/requirements.txt)"
    else:
        print(f"Async part, under load: {load_config}", file=sys.stderr)
        load = run_async_load(load_config, BENCH_DIR)
    results = report.async_results(cells, load, config, skipped)
    results["runtime_s"] = round(time.perf_counter() - part_started, 1)
    return results


def run_stores_part(args: argparse.Namespace) -> dict[str, Any]:
    """Part E: our installation store against slack_sdk's SQLAlchemy store, on SQLite (and PostgreSQL)."""
    part_started = time.perf_counter()
    config = StoresConfig(
        workspaces=args.store_workspaces,
        users=args.store_users,
        rounds=args.store_rounds,
        iterations=args.store_iterations,
        warmup=args.store_warmup,
        postgres_url=args.postgres or None,
        workdir=Path(_RUN_DIR.name),
    )
    # The URL may hold a password: neither printed nor written.
    shown = {key: value for key, value in config.__dict__.items() if key not in ("postgres_url", "workdir")}
    shown["postgres"] = config.postgres_url is not None
    if importlib.util.find_spec("sqlalchemy") is None:
        reason = "SQLAlchemy is not installed (pip install -r bench/requirements.txt)"
        return {"config": shown, "skipped": {"part": reason}, "runtime_s": 0.0}
    print(f"Stores part: {shown}", file=sys.stderr)
    results = report.stores_results(run_stores(config), shown)
    results["runtime_s"] = round(time.perf_counter() - part_started, 1)
    return results


def run_lazy_part(args: argparse.Namespace) -> dict[str, Any]:
    """Part F: /ping while slow lazy listeners are in flight, ours against Bolt's adapter."""
    part_started = time.perf_counter()
    config = LazyConfig(
        in_flight=args.lazy_in_flight,
        rounds=args.lazy_rounds,
        pings=args.lazy_pings,
        bolt_pings=args.lazy_bolt_pings,
        warmup=args.lazy_warmup,
    )
    print(f"Lazy part: {config}", file=sys.stderr)
    results = report.lazy_results(run_lazy(config, LAZY_VARIANTS), config.__dict__)
    results["runtime_s"] = round(time.perf_counter() - part_started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    scenarios = [s for s in SCENARIOS if s.key in args.scenarios.split(",")]
    load_scenarios = [s for s in SCENARIOS if s.key in args.load_scenarios.split(",")]
    results: dict[str, Any] = {
        "machine": report.machine_info(),
        "config": {"quick": args.quick, "part": args.part},
    }

    if "inprocess" in args.parts:
        config = InProcessConfig(args.rounds, args.iterations, args.slow_iterations, args.warmup)
        print(f"In-process part: {config}", file=sys.stderr)
        with pinned_to(args.pin_cpu):
            rows = report.in_process_rows(run_in_process(config, scenarios, VARIANTS))
        found = report.targets(rows)
        results["in_process"] = {
            "config": {
                **config.__dict__,
                "scenarios": [s.key for s in scenarios],
                "pinned_cpu": args.pin_cpu,
            },
            "rows": [row.as_dict() for row in rows],
            "targets": found,
            "table": report.in_process_table(rows),
        }

    has_gunicorn = importlib.util.find_spec("gunicorn") is not None
    if "load" in args.parts:
        if not has_gunicorn:
            results["load"] = {"skipped": "gunicorn is not installed (pip install gunicorn)"}
        else:
            load_config = LoadConfig(
                rounds=args.load_rounds,
                duration_s=args.load_duration,
                warmup_s=args.load_warmup,
                connections=args.connections,
                workers=args.workers,
                threads=args.threads,
                client=args.load_client,
                max_starts=args.load_max_starts,
            )
            print(f"Load part: {load_config}", file=sys.stderr)
            load = run_load(load_config, load_scenarios, VARIANTS, BENCH_DIR)
            rows_load = report.load_rows(load)
            results["load"] = {
                "config": {**load_config.__dict__, "scenarios": [s.key for s in load_scenarios]},
                "client": load.client,
                "server": load.server,
                "rows": [row.as_dict() for row in rows_load],
                "runs": [{**run.__dict__, "requests_per_s": run.requests_per_s} for run in load.runs],
                "table": report.load_table(rows_load),
            }

    if "authorize" in args.parts:
        part_started = time.perf_counter()
        authorize_config = AuthorizeConfig(
            workspaces=args.workspaces,
            slack_latency_s=args.slack_latency,
            load=LoadConfig(
                rounds=args.auth_rounds,
                duration_s=args.auth_duration,
                warmup_s=args.auth_warmup,
                connections=args.connections,
                workers=args.workers,
                threads=args.threads,
                client=args.load_client,
                max_starts=args.load_max_starts,
            ),
        )
        print(f"Authorization part: {authorize_config}", file=sys.stderr)
        authorized = run_authorize(
            authorize_config, AUTHORIZE_VARIANTS, BENCH_DIR, with_gunicorn=has_gunicorn
        )
        results["authorize"] = report.authorize_results(authorized, authorize_config.load.__dict__)
        results["authorize"]["runtime_s"] = round(time.perf_counter() - part_started, 1)

    if "async" in args.parts:
        results["async"] = run_async_part(args, has_gunicorn)

    if "stores" in args.parts:
        results["stores"] = run_stores_part(args)

    if "lazy" in args.parts:
        results["lazy"] = run_lazy_part(args)

    results["machine"]["load_average_at_end"] = report.load_average()
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    markdown = report.render_markdown(results)
    args.out.mkdir(parents=True, exist_ok=True)
    report.write_atomically(args.out / "latest.md", markdown)
    report.write_atomically(args.out / "latest.json", json.dumps(results, indent=2, default=str) + "\n")
    print(markdown)
    print(f"Results written to {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
