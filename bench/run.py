"""The benchmark: Bolt's Django adapter vs django-slack-bolt, against a bare Django view.

Part A times single requests in-process through Django's test client; part B loads a real gunicorn
on 127.0.0.1. Every comparison is made within this one run, with the variants interleaved, and is
reported as a ratio. ``python bench/run.py --help`` lists the options; ``make bench`` runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
# Forced, not defaulted: a caller (pytest-django, a shell) may have set its own settings module.
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import django  # noqa: E402

django.setup()

from harness import report  # noqa: E402
from harness.inprocess import InProcessConfig, run_in_process  # noqa: E402
from harness.load import LoadConfig, run_load  # noqa: E402
from project.payloads import SCENARIOS, SCENARIOS_BY_KEY  # noqa: E402
from project.urls import VARIANTS  # noqa: E402

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
    parser.add_argument("--part", choices=("all", "inprocess", "load"), default="all")
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
    group.add_argument("--load-client", choices=("auto", "wrk", "python"), default="auto")
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
    args = parser.parse_args(argv)

    profile = QUICK if args.quick else FULL
    for name, value in profile.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    unknown = {*args.scenarios.split(","), *args.load_scenarios.split(",")} - set(SCENARIOS_BY_KEY)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if not 1 <= args.load_duration <= MAX_LOAD_DURATION_S:
        parser.error(f"--load-duration must be 1..{MAX_LOAD_DURATION_S} s (Slack's signature window)")
    counts = (args.rounds, args.iterations, args.slow_iterations, args.load_rounds, args.load_max_starts)
    if min(*counts, args.connections, args.workers, args.threads) < 1:
        parser.error("counts must be positive")
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    scenarios = [s for s in SCENARIOS if s.key in args.scenarios.split(",")]
    load_scenarios = [s for s in SCENARIOS if s.key in args.load_scenarios.split(",")]
    results: dict[str, Any] = {
        "machine": report.machine_info(),
        "config": {"quick": args.quick, "part": args.part},
    }

    if args.part in ("all", "inprocess"):
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

    if args.part in ("all", "load"):
        if importlib.util.find_spec("gunicorn") is None:
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
