"""Turning samples into the tables, the targets and the results files (markdown and JSON)."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from project.payloads import SCENARIOS_BY_KEY
from project.urls import (
    ASYNC_VARIANTS_BY_KEY,
    AUTHORIZE_VARIANTS_BY_KEY,
    LAZY_VARIANTS_BY_KEY,
    VARIANTS_BY_KEY,
)

from .async_load import FAKE_ALONE, LOAD_VARIANTS_BY_KEY, AsyncLoadReport, AsyncLoadRun
from .authorize import AuthorizeReport, AuthorizeRun, PerRequest
from .inprocess import Cell
from .lazy import BOLT as LAZY_BOLT
from .lazy import BUSY as LAZY_BUSY
from .lazy import IDLE as LAZY_IDLE
from .lazy import OURS as LAZY_OURS
from .lazy import LazyCell, LazyReport, status_counts
from .load import LoadReport, LoadRun
from .stats import Summary, describe_ratio, ratio
from .stores import OURS as STORES_OURS
from .stores import POSTGRES, SQLITE, StoreCell, StoresReport
from .stores import SLACK_SDK as STORES_SDK

# The goals the benchmark reports against (from the project's performance brief).
SLASH_MAX_X_BARE = 3.0
EVENT_MAX_OURS_OVER_BOLT = 1.05
AUTHORIZE_MIN_OURS_OVER_BOLT_RPS = 10.0


def _version_of(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_version() -> str:
    """The commit measured, and whether the package had uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} (with uncommitted changes in src/)" if dirty else commit


def machine_info() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "django": _version_of("Django"),
        "slack_bolt": _version_of("slack_bolt"),
        "slack_sdk": _version_of("slack_sdk"),
        "django_slack_bolt": _version_of("django-slack-bolt"),
        "gunicorn": _version_of("gunicorn"),
        "uvicorn": _version_of("uvicorn"),
        "aiohttp": _version_of("aiohttp"),
        "uvloop": _version_of("uvloop"),
        "httptools": _version_of("httptools"),
        "sqlalchemy": _version_of("SQLAlchemy"),
        "psycopg": _version_of("psycopg"),
        # Others may commit while the benchmark runs: name what it measured.
        "code": code_version(),
        "load_average_at_start": load_average(),
    }


def load_average() -> float | None:
    """The 1-minute load average: how busy the shared machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


@dataclass(frozen=True)
class InProcessRow:
    scenario: str
    variant: str
    summary: Summary
    x_bare: float
    ours_vs_bolt: float | None  # ours' median over Bolt's; only on our row
    round_medians_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "n": self.summary.n,
            "median_ms": self.summary.median,
            "p99_ms": self.summary.p99,
            "mean_ms": self.summary.mean,
            "min_ms": self.summary.minimum,
            "x_bare": self.x_bare,
            "ours_vs_bolt": self.ours_vs_bolt,
            "round_medians_ms": self.round_medians_ms,
        }


def in_process_rows(cells: Sequence[Cell]) -> list[InProcessRow]:
    summaries = {(c.scenario.key, c.variant.key): Summary.of(c.samples_ms) for c in cells}
    rows = []
    for cell in cells:
        key = cell.scenario.key
        summary = summaries[key, cell.variant.key]
        bare = summaries.get((key, "bare"))
        bolt = summaries.get((key, "bolt"))
        rows.append(
            InProcessRow(
                scenario=key,
                variant=cell.variant.key,
                summary=summary,
                x_bare=ratio(summary.median, bare.median) if bare else math.nan,
                ours_vs_bolt=ratio(summary.median, bolt.median)
                if bolt and cell.variant.key == "ours"
                else None,
                round_medians_ms=[round(m, 4) for m in cell.round_medians_ms],
            )
        )
    return rows


def paired_ratio(ours: Sequence[float], reference: Sequence[float]) -> float:
    """The median over rounds of ours/reference within each round.

    Each round's two medians were measured minutes apart at most, so a slow spell of the machine
    cancels out of their ratio; this is the drift-proof check of the pooled ratio.
    """
    ratios = [ratio(o, r) for o, r in zip(ours, reference, strict=True) if r > 0]
    return statistics.median(ratios) if ratios else math.nan


def targets(rows: Sequence[InProcessRow]) -> list[dict[str, Any]]:
    by_key = {(row.scenario, row.variant): row for row in rows}
    found = []
    slash, slash_bare = by_key.get(("slash_command", "ours")), by_key.get(("slash_command", "bare"))
    if slash is not None and slash_bare is not None:
        paired = paired_ratio(slash.round_medians_ms, slash_bare.round_medians_ms)
        found.append(
            {
                "target": f"slash command through ours within {SLASH_MAX_X_BARE:g}x the bare view (median)",
                "measured": f"{slash.x_bare:.2f}x bare (per round: {paired:.2f}x)",
                "value": slash.x_bare,
                "paired_value": paired,
                "met": slash.x_bare <= SLASH_MAX_X_BARE,
            }
        )
    mention, mention_bolt = by_key.get(("app_mention", "ours")), by_key.get(("app_mention", "bolt"))
    if mention is not None and mention_bolt is not None and mention.ours_vs_bolt is not None:
        paired = paired_ratio(mention.round_medians_ms, mention_bolt.round_medians_ms)
        found.append(
            {
                "target": "app_mention event through ours within "
                f"{(EVENT_MAX_OURS_OVER_BOLT - 1) * 100:.0f}% of Bolt's adapter (median)",
                "measured": f"ours/Bolt = {mention.ours_vs_bolt:.3f} (per round: {paired:.3f})",
                "value": mention.ours_vs_bolt,
                "paired_value": paired,
                "met": mention.ours_vs_bolt <= EVENT_MAX_OURS_OVER_BOLT,
            }
        )
    return found


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def in_process_table(rows: Sequence[InProcessRow]) -> str:
    body = [
        [
            SCENARIOS_BY_KEY[row.scenario].label,
            VARIANTS_BY_KEY[row.variant].label,
            f"{row.summary.median:.3f}",
            f"{row.summary.p99:.3f}",
            f"{row.x_bare:.2f}",
            describe_ratio(row.ours_vs_bolt) if row.ours_vs_bolt is not None else "",
        ]
        for row in rows
    ]
    return _table(["scenario", "variant", "median ms", "p99 ms", "x bare", "ours vs Bolt"], body)


def targets_table(found: Sequence[dict[str, Any]]) -> str:
    body = [[t["target"], t["measured"], "yes" if t["met"] else "**no**"] for t in found]
    return _table(["target", "measured", "met"], body)


@dataclass(frozen=True)
class LoadRow:
    scenario: str
    variant: str
    rounds: int
    requests_per_s: float  # the median over rounds, as are p50 and p99
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    ours_vs_bolt_rps: float | None
    ours_vs_bolt_rps_paired: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_rows(report: LoadReport) -> list[LoadRow]:
    grouped: dict[tuple[str, str], list[LoadRun]] = {}
    for run in report.runs:
        grouped.setdefault((run.scenario, run.variant), []).append(run)
    rows = []
    for (scenario, variant), runs in sorted(
        grouped.items(),
        key=lambda item: (_order(SCENARIOS_BY_KEY, item[0][0]), _order(VARIANTS_BY_KEY, item[0][1])),
    ):
        # Medians over rounds: a slow spell of the machine, or gunicorn handing most connections
        # to one worker, spoils a round, not the row.
        rps = [run.requests_per_s for run in runs]
        bolt_runs = grouped.get((scenario, "bolt"), [])
        compare = variant == "ours" and len(bolt_runs) == len(runs)
        rows.append(
            LoadRow(
                scenario=scenario,
                variant=variant,
                rounds=len(runs),
                requests_per_s=statistics.median(rps),
                rps_min=min(rps),
                rps_max=max(rps),
                p50_ms=statistics.median(run.p50_ms for run in runs),
                p99_ms=statistics.median(run.p99_ms for run in runs),
                errors=sum(run.errors for run in runs),
                ours_vs_bolt_rps=(
                    ratio(statistics.median(rps), statistics.median(r.requests_per_s for r in bolt_runs))
                    if compare
                    else None
                ),
                ours_vs_bolt_rps_paired=(
                    paired_ratio(rps, [r.requests_per_s for r in bolt_runs]) if compare else None
                ),
            )
        )
    return rows


def _order(mapping: dict[str, Any], key: str) -> int:
    return list(mapping).index(key)


def load_table(rows: Sequence[LoadRow]) -> str:
    body = [
        [
            SCENARIOS_BY_KEY[row.scenario].label,
            VARIANTS_BY_KEY[row.variant].label,
            f"{row.requests_per_s:.0f}",
            f"{row.rps_min:.0f}-{row.rps_max:.0f}",
            f"{row.p50_ms:.2f}",
            f"{row.p99_ms:.2f}",
            (
                f"{row.ours_vs_bolt_rps:.2f}x req/s (per round: {row.ours_vs_bolt_rps_paired:.2f}x)"
                if row.ours_vs_bolt_rps is not None and row.ours_vs_bolt_rps_paired is not None
                else ""
            ),
            str(row.errors),
        ]
        for row in rows
    ]
    header = ["scenario", "variant", "req/s", "req/s range", "p50 ms", "p99 ms", "ours vs Bolt", "errors"]
    return _table(header, body)


# -- the authorization part ---------------------------------------------------------------------

AUTHORIZE_BOLT, AUTHORIZE_OURS = "bolt_default", "django_authorize"


@dataclass(frozen=True)
class AuthorizeRow:
    variant: str
    rounds: int
    requests_per_s: float  # the median over rounds, as are p50 and p99
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int  # answered, over all rounds
    handled: int  # by the app: answered, and left unanswered by the client at the end of a run
    web_api_calls: int
    ours_vs_bolt_rps: float | None
    ours_vs_bolt_rps_paired: float | None

    @property
    def calls_per_request(self) -> float:
        return ratio(self.web_api_calls, self.handled)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "calls_per_request": self.calls_per_request}


def authorize_rows(runs: Sequence[AuthorizeRun]) -> list[AuthorizeRow]:
    grouped: dict[str, list[AuthorizeRun]] = {}
    for run in runs:
        grouped.setdefault(run.variant, []).append(run)
    bolt_rps = [run.requests_per_s for run in grouped.get(AUTHORIZE_BOLT, [])]
    rows = []
    for variant in sorted(grouped, key=lambda key: _order(AUTHORIZE_VARIANTS_BY_KEY, key)):
        variant_runs = grouped[variant]
        rps = [run.requests_per_s for run in variant_runs]
        compare = variant == AUTHORIZE_OURS and len(bolt_rps) == len(rps)
        rows.append(
            AuthorizeRow(
                variant=variant,
                rounds=len(variant_runs),
                requests_per_s=statistics.median(rps),
                rps_min=min(rps),
                rps_max=max(rps),
                p50_ms=statistics.median(run.p50_ms for run in variant_runs),
                p99_ms=statistics.median(run.p99_ms for run in variant_runs),
                errors=sum(run.errors for run in variant_runs),
                requests=sum(run.requests for run in variant_runs),
                handled=sum(run.handled for run in variant_runs),
                web_api_calls=sum(run.web_api_calls for run in variant_runs),
                ours_vs_bolt_rps=ratio(statistics.median(rps), statistics.median(bolt_rps))
                if compare
                else None,
                ours_vs_bolt_rps_paired=paired_ratio(rps, bolt_rps) if compare else None,
            )
        )
    return rows


def authorize_load_table(rows: Sequence[AuthorizeRow]) -> str:
    body = [
        [
            AUTHORIZE_VARIANTS_BY_KEY[row.variant].label,
            f"{row.requests_per_s:.0f}",
            f"{row.rps_min:.0f}-{row.rps_max:.0f}",
            f"{row.p50_ms:.2f}",
            f"{row.p99_ms:.2f}",
            f"{row.calls_per_request:.2f} ({row.web_api_calls} in {row.handled})",
            (
                f"{row.ours_vs_bolt_rps:.1f}x req/s (per round: {row.ours_vs_bolt_rps_paired:.1f}x)"
                if row.ours_vs_bolt_rps is not None and row.ours_vs_bolt_rps_paired is not None
                else ""
            ),
            str(row.errors),
        ]
        for row in rows
    ]
    header = [
        "variant",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "Web API calls / request",
        "ours vs Bolt",
        "errors",
    ]
    return _table(header, body)


def authorize_per_request_table(rows: Sequence[PerRequest]) -> str:
    body = [
        [
            AUTHORIZE_VARIANTS_BY_KEY[row.variant].label,
            f"{row.request} ({row.requests} workspaces)",
            f"{ratio(row.db_queries, row.requests):.2f}",
            f"{ratio(row.web_api_calls, row.requests):.2f}",
            f"{row.median_ms:.2f}",
        ]
        for row in sorted(rows, key=lambda r: (_order(AUTHORIZE_VARIANTS_BY_KEY, r.variant), r.request))
    ]
    return _table(
        ["variant", "request", "DB queries / request", "Web API calls / request", "median ms"], body
    )


def authorize_targets(
    per_request: Sequence[PerRequest], rows: Sequence[AuthorizeRow]
) -> list[dict[str, Any]]:
    ours_in_process = [row for row in per_request if row.variant == AUTHORIZE_OURS]
    ours_load = next((row for row in rows if row.variant == AUTHORIZE_OURS), None)
    in_process_calls = sum(row.web_api_calls for row in ours_in_process)
    in_process_requests = sum(row.requests for row in ours_in_process)
    measured = f"{in_process_calls} calls in {in_process_requests} requests in-process"
    calls = in_process_calls
    if ours_load is not None:
        measured += f", {ours_load.web_api_calls} in {ours_load.handled} under load"
        calls += ours_load.web_api_calls
    found: list[dict[str, Any]] = [
        {
            "target": "DjangoAuthorize: no Web API call per request",
            "measured": measured,
            "value": calls,
            "met": calls == 0,
        }
    ]
    if ours_load is not None and ours_load.ours_vs_bolt_rps is not None:
        minimum = AUTHORIZE_MIN_OURS_OVER_BOLT_RPS
        paired = ours_load.ours_vs_bolt_rps_paired
        found.append(
            {
                "target": f"DjangoAuthorize at least {minimum:g}x the req/s of Bolt's default (median)",
                "measured": f"{ours_load.ours_vs_bolt_rps:.1f}x (per round: {paired:.1f}x)",
                "value": ours_load.ours_vs_bolt_rps,
                "paired_value": paired,
                "met": ours_load.ours_vs_bolt_rps >= minimum,
            }
        )
    return found


def authorize_results(report: AuthorizeReport, config: dict[str, Any]) -> dict[str, Any]:
    """The part's entry in latest.json (tables included, as markdown)."""
    rows = authorize_rows(report.runs or [])
    found = authorize_targets(report.per_request, rows)
    results: dict[str, Any] = {
        "config": config,
        "workspaces": report.workspaces,
        "slack_latency_s": report.slack_latency_s,
        "per_request": [row.as_dict() for row in report.per_request],
        "per_request_table": authorize_per_request_table(report.per_request),
        "targets": found,
    }
    if report.runs is None:
        results["skipped"] = report.skipped
    else:
        results.update(
            client=report.client,
            server=report.server,
            rows=[row.as_dict() for row in rows],
            runs=[{**run.__dict__, "requests_per_s": run.requests_per_s} for run in report.runs],
            table=authorize_load_table(rows),
        )
    return results


def _authorize_markdown(part: dict[str, Any]) -> list[str]:
    cfg = part["config"]
    latency_ms = part["slack_latency_s"] * 1000
    out = [
        "",
        f"## Authorization: {part['workspaces']} workspaces, auth.test answered in {latency_ms:.0f} ms",
        "",
        f"Two apps served by our adapter, identical but for `authorize`, read the same {part['workspaces']} "
        "installations (SQLite, tokens encrypted): Bolt's default (`App(installation_store=...)`, which "
        "calls `auth.test` on every request) and ours (`App(authorize=DjangoAuthorize(...))`). The "
        "request is a signed `app_mention` from a user other than the installer, each request to the "
        "next workspace in turn; a fake Slack on 127.0.0.1 answers `auth.test` after "
        f"{latency_ms:.0f} ms. The part took {part['runtime_s']:.0f} s.",
        "",
        "In-process (Django's test client), one request to every workspace with the cache empty (cold), "
        "then one more each (warm); every answer checked (the listener got the workspace's own bot):",
        "",
        part["per_request_table"],
    ]
    if "skipped" in part:
        out += ["", f"Under gunicorn: skipped: {part['skipped']}"]
    else:
        threads = cfg["workers"] * cfg["threads"]
        cap = (
            f" Bolt's default holds a gunicorn thread through each `auth.test`: {threads} threads cap it "
            f"below {threads / part['slack_latency_s']:.0f} req/s, and its latency is mostly the queue for "
            "a thread."
            if part["slack_latency_s"] > 0
            else ""
        )
        out += [
            "",
            f"Under gunicorn (`{part['server']}`, Django's local-memory cache in each worker), load client "
            f"**{part['client']}**, {cfg['connections']} keep-alive connections, {cfg['rounds']} round(s) "
            f"of {cfg['duration_s']} s per variant in rotating order, after a warm-up. req/s, p50 and p99 "
            "are medians over rounds. Web API calls are counted by the fake Slack (each app's calls carry "
            "a header of their own), per request the app handled: the answered ones and those the "
            f"client left unanswered at the end of a run (wrk leaves one per connection).{cap}",
            "",
            part["table"],
        ]
    out += ["", targets_table(part["targets"])]
    return out


def write_atomically(path: Path, text: str) -> None:
    # Through a .tmp beside it (ignored by git), so an interrupted run never leaves half a file.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def render_markdown(results: dict[str, Any]) -> str:
    """The results as markdown: what ran where, the tables, the targets."""
    machine = results["machine"]
    config = results["config"]
    out = [
        "# django-slack-bolt benchmark",
        "",
        f"{machine['date']}, {'quick (smoke) run' if config['quick'] else 'full run'} of `bench/run.py`, "
        f"{results['runtime_s']:.0f} s in all.",
        "",
        "## Machine",
        "",
        f"- CPUs: {machine['cpu_count']} ({machine['usable_cpus']} usable), {machine['cpu_model']}",
        f"- {machine['platform']}",
        f"- {machine['python']}, Django {machine['django']}, slack_bolt {machine['slack_bolt']}, "
        f"slack_sdk {machine['slack_sdk']}, django-slack-bolt {machine['django_slack_bolt']}, "
        f"gunicorn {machine['gunicorn']}",
        f"- uvicorn {machine.get('uvicorn')}, aiohttp {machine.get('aiohttp')}, "
        f"uvloop {machine.get('uvloop')}, httptools {machine.get('httptools')}",
        f"- SQLAlchemy {machine.get('sqlalchemy')}, psycopg {machine.get('psycopg')}",
        f"- django-slack-bolt code: {machine['code']}",
        f"- load average (1 min) at start: {machine['load_average_at_start']}, "
        f"at end: {machine.get('load_average_at_end')}",
    ]
    in_process = results.get("in_process")
    if in_process:
        cfg = in_process["config"]
        pinned = (
            f", all on CPU {cfg['pinned_cpu']} (`--pin-cpu`)" if cfg.get("pinned_cpu") is not None else ""
        )
        out += [
            "",
            "## In-process: Django's test client, per request",
            "",
            f"{cfg['rounds']} interleaved rounds; {cfg['iterations']} requests per scenario and variant, "
            f"{cfg['slow_iterations']} where Bolt's runner polls for ack() every 10 ms{pinned}. "
            "Medians and p99 over all requests; x bare = median / the bare view's median; "
            "ours vs Bolt = our median / Bolt's median. In the targets, *per round* is the median of "
            "the ratios of each round's medians: it should agree with the pooled ratio; when it does "
            "not, the machine's load drifted during the run.",
            "",
            in_process["table"],
            "",
            targets_table(in_process["targets"]),
        ]
    load = results.get("load")
    if load is not None:
        out += ["", "## Load: a real gunicorn on 127.0.0.1", ""]
        if "skipped" in load:
            out.append(f"Skipped: {load['skipped']}")
        else:
            cfg = load["config"]
            out += [
                f"Server: `{load['server']}`. Load client: **{load['client']}**, "
                f"{cfg['connections']} keep-alive connections. "
                f"{cfg['rounds']} round(s) of {cfg['duration_s']} s per scenario and variant, "
                "in rotating order. req/s, p50 and p99 are medians over the rounds (each round's own "
                "percentile, then the median of those); the range shows the spread of req/s over "
                "the rounds. *per round* is the median of each round's ours/Bolt ratio.",
                "",
                load["table"],
            ]
            unbalanced = [run for run in load["runs"] if not run["every_thread_busy"]]
            if unbalanced:
                out += [
                    "",
                    f"{len(unbalanced)} of {len(load['runs'])} runs left some gunicorn thread idle "
                    f"even after {cfg['max_starts']} starts (gunicorn spreads connections over its "
                    "workers unevenly); the medians shrug off a few. See `runs` in latest.json.",
                ]
    authorize = results.get("authorize")
    if authorize is not None:
        out += _authorize_markdown(authorize)
    async_part = results.get("async")
    if async_part is not None:
        out += _async_markdown(async_part)
    stores = results.get("stores")
    if stores is not None:
        out += _stores_markdown(stores)
    lazy = results.get("lazy")
    if lazy is not None:
        out += _lazy_markdown(lazy)
    return "\n".join(out) + "\n"


# -- the async part ------------------------------------------------------------------------------

ASYNC_SLASH_MAX_X_BARE = 3.0
ASYNC_MIN_ASYNC_OVER_SYNC_RPS = 3.0
ASYNC_TARGET_CONCURRENCY = 200
# The fake Slack is taken to keep up when, alone, it answers this many times what a variant drew from it.
FAKE_HEADROOM = 1.5
ASYNC_SYNC, ASYNC_APP = "sync_app", "async_app"


def _mb(kb: float) -> float:
    return kb / 1024


@dataclass(frozen=True)
class AsyncInProcessRow:
    variant: str
    summary: Summary
    x_bare: float
    ours_vs_bolt_runner: float | None  # on our row: our median over that of Bolt's runner
    round_medians_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "n": self.summary.n,
            "median_ms": self.summary.median,
            "p99_ms": self.summary.p99,
            "mean_ms": self.summary.mean,
            "min_ms": self.summary.minimum,
            "x_bare": self.x_bare,
            "ours_vs_bolt_runner": self.ours_vs_bolt_runner,
            "round_medians_ms": self.round_medians_ms,
        }


def async_in_process_rows(cells: Sequence[Cell]) -> list[AsyncInProcessRow]:
    summaries = {cell.variant.key: Summary.of(cell.samples_ms) for cell in cells}
    bare, runner = summaries.get("async_bare"), summaries.get("async_bolt_runner")
    return [
        AsyncInProcessRow(
            variant=cell.variant.key,
            summary=summaries[cell.variant.key],
            x_bare=ratio(summaries[cell.variant.key].median, bare.median) if bare else math.nan,
            ours_vs_bolt_runner=(
                ratio(summaries[cell.variant.key].median, runner.median)
                if runner and cell.variant.key == "async_ours"
                else None
            ),
            round_medians_ms=[round(m, 4) for m in cell.round_medians_ms],
        )
        for cell in cells
    ]


def async_in_process_table(rows: Sequence[AsyncInProcessRow]) -> str:
    body = [
        [
            ASYNC_VARIANTS_BY_KEY[row.variant].label,
            f"{row.summary.median:.3f}",
            f"{row.summary.p99:.3f}",
            f"{row.x_bare:.2f}",
            describe_ratio(row.ours_vs_bolt_runner) if row.ours_vs_bolt_runner is not None else "",
        ]
        for row in rows
    ]
    return _table(["variant", "median ms", "p99 ms", "x bare", "ours vs Bolt's runner"], body)


@dataclass(frozen=True)
class AsyncLoadRow:
    variant: str
    concurrency: int
    rounds: int
    requests_per_s: float  # the median over rounds, as are p50, p99, the CPU and each worker's RSS
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int  # answered, over all rounds
    handled: int  # answered, and left unanswered by the client at the end of a run
    web_api_calls: int | None
    rss_mb: list[float]  # per worker, lowest pid first
    cpu_ms_per_request: float | None
    fake_cpu_cores: float | None
    vs_sync_rps: float | None  # on the async rows: their req/s over the sync App's
    vs_sync_rps_paired: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def async_load_rows(runs: Sequence[AsyncLoadRun]) -> list[AsyncLoadRow]:
    grouped: dict[tuple[int, str], list[AsyncLoadRun]] = {}
    for run in runs:
        grouped.setdefault((run.concurrency, run.variant), []).append(run)
    order = [*LOAD_VARIANTS_BY_KEY, FAKE_ALONE]
    rows = []
    for (concurrency, variant), group in sorted(
        grouped.items(), key=lambda item: (item[0][0], order.index(item[0][1]))
    ):
        rps = [run.requests_per_s for run in group]
        sync_rps = [run.requests_per_s for run in grouped.get((concurrency, ASYNC_SYNC), [])]
        compare = variant in ("async_app", "async_bare_call") and len(sync_rps) == len(rps)
        workers = min((len(run.rss_kb) for run in group), default=0)
        calls = [run.web_api_calls for run in group]
        rows.append(
            AsyncLoadRow(
                variant=variant,
                concurrency=concurrency,
                rounds=len(group),
                requests_per_s=statistics.median(rps),
                rps_min=min(rps),
                rps_max=max(rps),
                p50_ms=statistics.median(run.p50_ms for run in group),
                p99_ms=statistics.median(run.p99_ms for run in group),
                errors=sum(run.errors for run in group),
                requests=sum(run.requests for run in group),
                handled=sum(run.requests + run.abandoned for run in group),
                web_api_calls=None if any(c is None for c in calls) else sum(c or 0 for c in calls),
                rss_mb=[_mb(statistics.median(run.rss_kb[i] for run in group)) for i in range(workers)],
                cpu_ms_per_request=_median_or_none([run.cpu_ms_per_request for run in group]),
                fake_cpu_cores=_median_or_none([run.fake_cpu_cores for run in group]),
                vs_sync_rps=ratio(statistics.median(rps), statistics.median(sync_rps)) if compare else None,
                vs_sync_rps_paired=paired_ratio(rps, sync_rps) if compare else None,
            )
        )
    return rows


def _async_variant_label(key: str) -> str:
    if key == FAKE_ALONE:
        return "fake Slack alone (wrk straight at chat.postMessage, keep-alive)"
    return LOAD_VARIANTS_BY_KEY[key].label


def async_load_table(rows: Sequence[AsyncLoadRow]) -> str:
    body = []
    for row in rows:
        body.append(
            [
                str(row.concurrency),
                _async_variant_label(row.variant),
                f"{row.requests_per_s:.0f}",
                f"{row.rps_min:.0f}-{row.rps_max:.0f}",
                f"{row.p50_ms:.0f}",
                f"{row.p99_ms:.0f}",
                " / ".join(f"{mb:.1f}" for mb in row.rss_mb),
                f"{row.cpu_ms_per_request:.2f}" if row.cpu_ms_per_request is not None else "",
                f"{row.fake_cpu_cores:.2f}" if row.fake_cpu_cores is not None else "",
                (
                    f"{row.web_api_calls} / {row.requests}"
                    if row.web_api_calls is not None and row.variant != FAKE_ALONE
                    else ""
                ),
                (
                    f"{row.vs_sync_rps:.2f}x (per round: {row.vs_sync_rps_paired:.2f}x)"
                    if row.vs_sync_rps is not None and row.vs_sync_rps_paired is not None
                    else ""
                ),
                str(row.errors),
            ]
        )
    header = [
        "concurrency",
        "variant",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "RSS per worker MB",
        "worker CPU ms / request",
        "fake Slack CPU (cores)",
        "calls / answered",
        "vs sync App",
        "errors",
    ]
    return _table(header, body)


def _fake_keeps_up(rows: Sequence[AsyncLoadRow]) -> dict[str, Any] | None:
    """Whether the fake Slack kept up at the highest concurrency: alone it answers far more, and it
    did not use a whole core (its GIL's limit) while the variants ran."""
    if not rows:
        return None
    top = max(row.concurrency for row in rows)
    at_top = {row.variant: row for row in rows if row.concurrency == top}
    alone = at_top.get(FAKE_ALONE)
    drawn = [row for key, row in at_top.items() if key != FAKE_ALONE]
    busiest = max(drawn, key=lambda row: row.requests_per_s, default=None)
    cores = max((row.fake_cpu_cores or 0.0 for row in drawn), default=0.0)
    if busiest is None:
        return None
    headroom = ratio(alone.requests_per_s, busiest.requests_per_s) if alone is not None else None
    keeps_up = cores < 0.5 and (headroom is None or headroom >= FAKE_HEADROOM)
    return {
        "concurrency": top,
        "fake_alone_rps": alone.requests_per_s if alone is not None else None,
        "busiest_variant": busiest.variant,
        "busiest_rps": busiest.requests_per_s,
        "headroom": headroom,
        "max_fake_cpu_cores": cores,
        "keeps_up": keeps_up,
    }


def _fake_sentence(check: dict[str, Any] | None) -> str:
    if check is None:
        return ""
    top, cores = check["concurrency"], check["max_fake_cpu_cores"]
    busiest = f"{_async_variant_label(check['busiest_variant'])} ({check['busiest_rps']:.0f} req/s)"
    alone = (
        f"Alone, at concurrency {top}, it answered {check['fake_alone_rps']:.0f} req/s, "
        f"{check['headroom']:.1f}x what the busiest variant drew from it, {busiest}; "
        if check["headroom"] is not None
        else f"(Not measured alone: that needs wrk.) At concurrency {top} the busiest variant was {busiest}; "
    )
    verdict = (
        "**The fake Slack is not the bottleneck.**"
        if check["keeps_up"]
        else "**The fake Slack may be the bottleneck**: read the async numbers as a lower bound."
    )
    return (
        f"{alone}while the variants ran it used at most {cores:.2f} of a core (its threads share one GIL, "
        f"so about 1 is its limit). {verdict}"
    )


def async_targets(
    in_process: Sequence[AsyncInProcessRow], load: Sequence[AsyncLoadRow]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    by_key = {row.variant: row for row in in_process}
    ours, bare = by_key.get("async_ours"), by_key.get("async_bare")
    if ours is not None and bare is not None:
        paired = paired_ratio(ours.round_medians_ms, bare.round_medians_ms)
        found.append(
            {
                "target": "AsyncApp slash command through AsyncSlackEventsView within "
                f"{ASYNC_SLASH_MAX_X_BARE:g}x the bare async view (median, in-process)",
                "measured": f"{ours.x_bare:.2f}x bare (per round: {paired:.2f}x)",
                "value": ours.x_bare,
                "paired_value": paired,
                "met": ours.x_bare <= ASYNC_SLASH_MAX_X_BARE,
            }
        )
    rows = {(row.concurrency, row.variant): row for row in load}
    concurrency = ASYNC_TARGET_CONCURRENCY if (ASYNC_TARGET_CONCURRENCY, ASYNC_APP) in rows else None
    if concurrency is None and load:
        concurrency = max(row.concurrency for row in load)  # --async-concurrency without 200
    async_row, sync_row = rows.get((concurrency or 0, ASYNC_APP)), rows.get((concurrency or 0, ASYNC_SYNC))
    if async_row is not None and sync_row is not None and async_row.vs_sync_rps is not None:
        minimum = ASYNC_MIN_ASYNC_OVER_SYNC_RPS
        found.append(
            {
                "target": f"AsyncApp under uvicorn at least {minimum:g}x the req/s of the sync App under "
                f"gunicorn, at concurrency {concurrency} (median)",
                "measured": f"{async_row.requests_per_s:.0f} vs {sync_row.requests_per_s:.0f} req/s: "
                f"{async_row.vs_sync_rps:.2f}x (per round: {async_row.vs_sync_rps_paired:.2f}x)",
                "value": async_row.vs_sync_rps,
                "paired_value": async_row.vs_sync_rps_paired,
                "met": async_row.vs_sync_rps >= minimum,
            }
        )
        if async_row.rss_mb and sync_row.rss_mb:
            async_mb, sync_mb = statistics.fmean(async_row.rss_mb), statistics.fmean(sync_row.rss_mb)
            async_each = " / ".join(f"{mb:.1f}" for mb in async_row.rss_mb)
            sync_each = " / ".join(f"{mb:.1f}" for mb in sync_row.rss_mb)
            found.append(
                {
                    "target": f"AsyncApp workers' memory no higher than the sync App's, at concurrency "
                    f"{concurrency} (median VmRSS of each worker; compared: their mean)",
                    "measured": f"uvicorn {async_each} MB vs gunicorn {sync_each} MB: "
                    f"{async_mb / sync_mb:.2f}x",
                    "value": async_mb / sync_mb,
                    "met": async_mb <= sync_mb,
                }
            )
    return found


def async_results(
    cells: Sequence[Cell] | None,
    load: AsyncLoadReport | None,
    config: dict[str, Any],
    skipped: dict[str, str],
) -> dict[str, Any]:
    """The async part's entry in latest.json (tables included, as markdown)."""
    in_process_rows = async_in_process_rows(cells) if cells is not None else []
    load_rows = async_load_rows([*load.runs, *load.fake_alone]) if load is not None else []
    results: dict[str, Any] = {"config": config, "skipped": skipped}
    if cells is not None:
        results["in_process"] = {
            "rows": [row.as_dict() for row in in_process_rows],
            "table": async_in_process_table(in_process_rows),
        }
    if load is not None:
        fake = _fake_keeps_up(load_rows)
        results["load"] = {
            "client": load.client,
            "servers": load.servers,
            "start_rss_mb": {name: [_mb(kb) for kb in kbs] for name, kbs in load.start_rss_kb.items()},
            "rows": [row.as_dict() for row in load_rows],
            "runs": [run.as_dict() for run in [*load.runs, *load.fake_alone]],
            "table": async_load_table(load_rows),
            "fake_slack": fake,
            "fake_slack_sentence": _fake_sentence(fake),
            "fake_alone_skipped": load.fake_alone_skipped,
        }
    results["targets"] = async_targets(in_process_rows, load_rows)
    return results


def _async_markdown(part: dict[str, Any]) -> list[str]:
    cfg = part["config"]
    out = [
        "",
        "## Async: an AsyncApp through our async views",
        "",
        f"The part took {part['runtime_s']:.0f} s.",
    ]
    for what, reason in part["skipped"].items():
        out += ["", f"{what}: skipped: {reason}"]
    in_process = part.get("in_process")
    if in_process is not None:
        out += [
            "",
            "In-process (Django's `AsyncClient`, this process's event loop, the same middleware as above): "
            "the slash command `/bench`, whose listener only acknowledges, through `AsyncSlackEventsView` "
            "with our fast-ack runner and with Bolt's own asyncio runner (`fast_ack=False`, polls for "
            f"`ack()` every 10 ms), against a bare async view. {cfg['inprocess_rounds']} interleaved rounds; "
            f"{cfg['iterations']} requests per variant, {cfg['slow_iterations']} through Bolt's runner. "
            "Medians and p99 over all requests.",
            "",
            in_process["table"],
        ]
    load = part.get("load")
    if load is not None:
        start = load["start_rss_mb"]
        latency_ms = cfg["slack_latency_s"] * 1000
        out += [
            "",
            f"Under load: the slash command `/bench-post`, whose listener calls `chat.postMessage` "
            f"(answered by a fake Slack on 127.0.0.1 after {latency_ms:.0f} ms) before it acknowledges: "
            f"`await client.chat_postMessage(...)` then `await ack()` in the AsyncApp, the same without "
            f"`await` in the App. Servers, both up at once, each serving only its own app: "
            f"`{load['servers']['sync']}` and `{load['servers']['async']}`. "
            f"Load client: **{load['client']}**, keep-alive connections; {cfg['rounds']} round(s) of "
            f"{cfg['duration_s']} s per concurrency and variant, in rotating order, after a warm-up. "
            "req/s, p50, p99 and the CPU are medians over "
            "the rounds; *RSS per worker* is each worker's VmRSS at the end of a run, the median over the "
            "rounds, lowest pid first; *worker CPU ms / request* is the workers' CPU time (user + system) "
            "over the requests they handled; *calls / answered*: the `chat.postMessage` calls the fake "
            "received, over the requests answered (wrk leaves one request per connection unanswered, which "
            "the server may still handle). *vs sync App*: req/s over the sync App's at the same "
            "concurrency (*per round*: the median of each round's ratio). Each gthread thread waits out "
            f"its request's call, so {cfg['workers']} x {cfg['threads']} threads cap the sync App below "
            f"{cfg['workers'] * cfg['threads'] / cfg['slack_latency_s']:.0f} req/s whatever the CPU.",
            "",
            load["table"],
            "",
            "RSS per worker once every worker had answered one request: gunicorn "
            + " / ".join(f"{mb:.1f}" for mb in start.get("sync", []))
            + " MB, uvicorn "
            + " / ".join(f"{mb:.1f}" for mb in start.get("async", []))
            + " MB.",
        ]
        if load.get("fake_slack_sentence"):
            out += ["", load["fake_slack_sentence"]]
        unbalanced = [run for run in load["runs"] if not run["balanced"]]
        if unbalanced:
            out += [
                "",
                f"{len(unbalanced)} of {len(load['runs'])} runs kept a lopsided spread of connections over "
                f"the workers even after {cfg['max_starts']} starts; see `runs` in latest.json.",
            ]
    if part["targets"]:
        out += ["", targets_table(part["targets"])]
    return out


# -- the stores part -----------------------------------------------------------------------------

# The goals of the stores part: ours no slower than slack_sdk's store on these reads, and a cold
# DjangoAuthorize in one query.
STORES_MAX_OURS_OVER_SDK = 1.0
STORES_TARGET_OPERATIONS = ("find_installation", "find_installation_user", "find_bot")
STORES_AUTHORIZE_QUERIES = 1
STORE_OPERATION_LABELS = {
    "find_installation": "find_installation(team_id)",
    "find_installation_user": "find_installation(team_id, user_id)",
    "find_bot": "find_bot(team_id)",
    "authorize": "cold authorization",
}
DATABASE_LABELS = {SQLITE: "SQLite", POSTGRES: "PostgreSQL"}


def _store_label(store: str, operation: str) -> str:
    if operation == "authorize":
        return (
            "ours: DjangoAuthorize(cache_enabled=False)"
            if store == STORES_OURS
            else "slack_sdk: the reads of Bolt's InstallationStoreAuthorize (no auth.test)"
        )
    return (
        "ours (DjangoInstallationStore)"
        if store == STORES_OURS
        else "slack_sdk (SQLAlchemyInstallationStore)"
    )


@dataclass(frozen=True)
class StoresRow:
    database: str
    operation: str
    store: str
    summary: Summary
    queries_per_call: float
    ours_vs_sdk: float | None  # on our rows: our median over slack_sdk's
    ours_vs_sdk_paired: float | None
    round_medians_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "operation": self.operation,
            "store": self.store,
            "n": self.summary.n,
            "median_ms": self.summary.median,
            "p99_ms": self.summary.p99,
            "mean_ms": self.summary.mean,
            "min_ms": self.summary.minimum,
            "queries_per_call": self.queries_per_call,
            "ours_vs_slack_sdk": self.ours_vs_sdk,
            "ours_vs_slack_sdk_paired": self.ours_vs_sdk_paired,
            "round_medians_ms": self.round_medians_ms,
        }


def stores_rows(cells: Sequence[StoreCell]) -> list[StoresRow]:
    by_key = {(cell.database, cell.operation, cell.store): cell for cell in cells}
    rows = []
    for cell in cells:
        summary = Summary.of(cell.samples_ms)
        sdk = by_key.get((cell.database, cell.operation, STORES_SDK))
        compare = cell.store == STORES_OURS and sdk is not None
        rows.append(
            StoresRow(
                database=cell.database,
                operation=cell.operation,
                store=cell.store,
                summary=summary,
                queries_per_call=cell.queries_per_call,
                ours_vs_sdk=ratio(summary.median, Summary.of(sdk.samples_ms).median)
                if compare and sdk is not None
                else None,
                ours_vs_sdk_paired=paired_ratio(cell.round_medians_ms, sdk.round_medians_ms)
                if compare and sdk is not None
                else None,
                round_medians_ms=[round(m, 4) for m in cell.round_medians_ms],
            )
        )
    return rows


def stores_table(rows: Sequence[StoresRow]) -> str:
    body = [
        [
            DATABASE_LABELS[row.database],
            STORE_OPERATION_LABELS[row.operation],
            _store_label(row.store, row.operation),
            f"{row.summary.median:.3f}",
            f"{row.summary.p99:.3f}",
            f"{row.queries_per_call:.2f}",
            (
                f"{describe_ratio(row.ours_vs_sdk)}, per round: {row.ours_vs_sdk_paired:.3f}"
                if row.ours_vs_sdk is not None and row.ours_vs_sdk_paired is not None
                else ""
            ),
        ]
        for row in rows
    ]
    header = ["database", "operation", "store", "median ms", "p99 ms", "queries / call", "ours vs slack_sdk"]
    return _table(header, body)


def stores_targets(rows: Sequence[StoresRow]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    by_key = {(row.database, row.operation, row.store): row for row in rows}
    for database in DATABASE_LABELS:
        for operation in STORES_TARGET_OPERATIONS:
            ours = by_key.get((database, operation, STORES_OURS))
            sdk = by_key.get((database, operation, STORES_SDK))
            if ours is None or sdk is None or ours.ours_vs_sdk is None:
                continue
            found.append(
                {
                    "target": f"{DATABASE_LABELS[database]}: {STORE_OPERATION_LABELS[operation]} at or below "
                    "slack_sdk's SQLAlchemy store (median)",
                    "measured": f"{ours.summary.median:.3f} vs {sdk.summary.median:.3f} ms: "
                    f"ours/slack_sdk = {ours.ours_vs_sdk:.3f} (per round: {ours.ours_vs_sdk_paired:.3f})",
                    "value": ours.ours_vs_sdk,
                    "paired_value": ours.ours_vs_sdk_paired,
                    "met": ours.ours_vs_sdk <= STORES_MAX_OURS_OVER_SDK,
                }
            )
        authorize = by_key.get((database, "authorize", STORES_OURS))
        if authorize is not None:
            found.append(
                {
                    "target": f"{DATABASE_LABELS[database]}: a cold DjangoAuthorize in "
                    f"{STORES_AUTHORIZE_QUERIES} query",
                    "measured": f"{authorize.queries_per_call:.2f} queries per authorization",
                    "value": authorize.queries_per_call,
                    "met": authorize.queries_per_call == STORES_AUTHORIZE_QUERIES,
                }
            )
    return found


def stores_results(report: StoresReport, config: dict[str, Any]) -> dict[str, Any]:
    """The stores part's entry in latest.json (tables included, as markdown)."""
    rows = stores_rows(report.cells)
    return {
        "config": config,
        "databases": report.databases,
        "installations": report.installations,
        "skipped": report.skipped,
        "rows": [row.as_dict() for row in rows],
        "table": stores_table(rows),
        "targets": stores_targets(rows),
    }


def _stores_markdown(part: dict[str, Any]) -> list[str]:
    out = ["", "## Stores: DjangoInstallationStore against slack_sdk's SQLAlchemy store"]
    if "table" not in part:
        return out + [line for reason in part["skipped"].values() for line in ("", f"Skipped: {reason}")]
    cfg = part["config"]
    databases = "; ".join(f"{DATABASE_LABELS[key]}: {what}" for key, what in part["databases"].items())
    out += [
        "",
        f"In-process, both stores holding the same {part['installations']} installations "
        f"({cfg['workspaces']} workspaces x {cfg['users']} users, each user's installation a row of its own "
        "with the workspace's bot, saved through each store's `save`). Databases: "
        f"{databases}. {cfg['rounds']} interleaved rounds in rotating order; {cfg['iterations']} calls per "
        "operation, store and database, over every (workspace, user) in turn; medians and p99 over all "
        "calls. *queries / call*: the statements each store sent, counted in a pass of their own over "
        "every (workspace, user) (Django's captured queries; SQLAlchemy's cursor events, which leave out "
        "the transaction around each of its connection checkouts: psycopg's BEGIN on PostgreSQL, and the "
        "rollback when the connection goes back to the pool). The cold authorization is "
        "`DjangoAuthorize(cache_enabled=False)` against what Bolt's `InstallationStoreAuthorize` reads "
        "from slack_sdk's store before it calls `auth.test` (the latest installation, then the user's when "
        "another user installed last); the `auth.test` round trip it then makes is not counted. Our tokens "
        "are decrypted on every read (Fernet); slack_sdk's store keeps them in clear. *per round* is the "
        f"median of each round's ratio. The part took {part['runtime_s']:.0f} s.",
    ]
    for what, reason in part["skipped"].items():
        out += ["", f"{DATABASE_LABELS[what]}: skipped: {reason}"]
    return [*out, "", part["table"], "", targets_table(part["targets"])]


# -- the lazy part -------------------------------------------------------------------------------

LAZY_MAX_BUSY_OVER_IDLE = 2.0


@dataclass(frozen=True)
class LazyRow:
    variant: str
    state: str
    in_flight: int
    summary: Summary
    not_ok: int
    statuses: dict[str, int]
    reports: int
    report_not_ok: int
    running: float | None  # the median over rounds, as are waiting and fill_s
    waiting: float | None
    fill_s: float | None
    ours_vs_bolt: float | None  # on our rows: our p50 over Bolt's, in the same state
    round_medians_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "state": self.state,
            "in_flight": self.in_flight,
            "n": self.summary.n,
            "p50_ms": self.summary.median,
            "p99_ms": self.summary.p99,
            "mean_ms": self.summary.mean,
            "min_ms": self.summary.minimum,
            "not_200": self.not_ok,
            "statuses": self.statuses,
            "reports": self.reports,
            "report_not_200": self.report_not_ok,
            "running": self.running,
            "waiting": self.waiting,
            "fill_s": self.fill_s,
            "ours_vs_bolt_p50": self.ours_vs_bolt,
            "round_medians_ms": self.round_medians_ms,
        }


def lazy_rows(cells: Sequence[LazyCell]) -> list[LazyRow]:
    summaries = {(cell.variant.key, cell.state): Summary.of(cell.samples_ms) for cell in cells}
    rows = []
    for cell in cells:
        summary = summaries[cell.variant.key, cell.state]
        bolt = summaries.get((LAZY_BOLT, cell.state))
        rows.append(
            LazyRow(
                variant=cell.variant.key,
                state=cell.state,
                in_flight=cell.in_flight,
                summary=summary,
                not_ok=cell.not_ok,
                statuses=status_counts(cell.statuses),
                reports=len(cell.report_statuses),
                report_not_ok=sum(1 for status in cell.report_statuses if status != 200),
                running=_median_or_none(list(cell.running)),
                waiting=_median_or_none(list(cell.waiting)),
                fill_s=_median_or_none(list(cell.fill_s)),
                ours_vs_bolt=ratio(summary.median, bolt.median)
                if bolt is not None and cell.variant.key == LAZY_OURS
                else None,
                round_medians_ms=[round(m, 4) for m in cell.round_medians_ms],
            )
        )
    order = [*LAZY_VARIANTS_BY_KEY]
    return sorted(rows, key=lambda row: (order.index(row.variant), row.state != LAZY_IDLE))


def lazy_table(rows: Sequence[LazyRow]) -> str:
    body = [
        [
            LAZY_VARIANTS_BY_KEY[row.variant].label,
            str(row.in_flight),
            f"{row.running:.0f} / {row.waiting:.0f}"
            if row.running is not None and row.waiting is not None
            else "",
            str(row.summary.n),
            f"{row.summary.median:.2f}",
            f"{row.summary.p99:.2f}",
            f"{row.not_ok} ({', '.join(f'{n} x {s}' for s, n in row.statuses.items())})",
            f"{row.report_not_ok} of {row.reports}" if row.reports else "",
            describe_ratio(row.ours_vs_bolt) if row.ours_vs_bolt is not None else "",
        ]
        for row in rows
    ]
    header = [
        "adapter",
        "slow lazy listeners in flight",
        "running / waiting",
        "pings",
        "p50 ms",
        "p99 ms",
        "not 200 (statuses)",
        "/report not 200",
        "ours vs Bolt (p50)",
    ]
    return _table(header, body)


def lazy_targets(rows: Sequence[LazyRow]) -> list[dict[str, Any]]:
    by_key = {(row.variant, row.state): row for row in rows}
    ours_busy, ours_idle = by_key.get((LAZY_OURS, LAZY_BUSY)), by_key.get((LAZY_OURS, LAZY_IDLE))
    bolt_busy = by_key.get((LAZY_BOLT, LAZY_BUSY))
    found: list[dict[str, Any]] = []
    if ours_busy is None:
        return found
    contrast = (
        f" (Bolt's adapter: {bolt_busy.not_ok} of {bolt_busy.summary.n} not 200, "
        f"p50 {bolt_busy.summary.median:.0f} ms)"
        if bolt_busy is not None
        else ""
    )
    found.append(
        {
            "target": f"/ping through ours answered 200 every time with {ours_busy.in_flight} slow lazy "
            "listeners in flight",
            "measured": f"{ours_busy.not_ok} of {ours_busy.summary.n} not 200{contrast}",
            "value": ours_busy.not_ok,
            "met": ours_busy.not_ok == 0 and ours_busy.summary.n > 0,
        }
    )
    if ours_idle is not None:
        value = ratio(ours_busy.summary.median, ours_idle.summary.median)
        paired = paired_ratio(ours_busy.round_medians_ms, ours_idle.round_medians_ms)
        found.append(
            {
                "target": f"/ping through ours with {ours_busy.in_flight} slow lazy listeners in flight "
                f"within {LAZY_MAX_BUSY_OVER_IDLE:g}x its latency with none (median)",
                "measured": f"{ours_busy.summary.median:.2f} vs {ours_idle.summary.median:.2f} ms: "
                f"{value:.2f}x (per round: {paired:.2f}x)",
                "value": value,
                "paired_value": paired,
                "met": value <= LAZY_MAX_BUSY_OVER_IDLE,
            }
        )
    return found


def lazy_results(report: LazyReport, config: dict[str, Any]) -> dict[str, Any]:
    """The lazy part's entry in latest.json (tables included, as markdown)."""
    rows = lazy_rows(report.cells)
    return {
        "config": config,
        "lazy_listener_workers": report.lazy_workers,
        "bolt_listener_executor_workers": report.bolt_executor_workers,
        "rows": [row.as_dict() for row in rows],
        "table": lazy_table(rows),
        "targets": lazy_targets(rows),
    }


def _lazy_markdown(part: dict[str, Any]) -> list[str]:
    cfg = part["config"]
    bolt_workers = part["bolt_listener_executor_workers"]
    return [
        "",
        f"## Lazy listeners: `/ping` with {cfg['in_flight']} slow lazy listeners in flight",
        "",
        "In-process, through Django's test client and the bench project's URLconf; the same app through each "
        "adapter: `/report` acks at once and leaves a lazy listener that holds its thread (blocked on an "
        "event, like a slow LLM call) until the cell ends; `/ping` only acks. Each round, for each adapter "
        "in rotating order: `/ping` with nothing in flight (idle), then "
        f"{cfg['in_flight']} `/report` commands sent at once (a client thread each), and `/ping` again "
        "while their lazy listeners are held (busy); then they are released and all finish. Our lazy "
        f'listeners have a pool of their own (`SLACK_BOLT["LAZY_LISTENER_WORKERS"]` = '
        f"{part['lazy_listener_workers']}); Bolt's adapter runs them on the listener executor "
        f"({bolt_workers} threads) that its ack functions also need, so a busy `/ping` waits out Bolt's 3 s "
        f"ack timeout: it gets {cfg['bolt_pings']} ping(s) over {cfg['rounds']} round(s), one after the "
        f"other, against {cfg['pings']} in each other cell; a p99 over so few is their maximum. Every "
        "request is signed anew by the test kit; Bolt's warnings for the acks it gave up on, and Django's "
        "for the 404s, are silenced during the part (the table counts them). *running / waiting*: lazy "
        "listeners holding a thread and waiting for one when the pings began (median over rounds); "
        "*/report not 200*: the `/report` commands of the busy cells whose own ack timed out (Bolt's "
        "adapter: their ack functions queued behind the lazy listeners too). "
        f"The part took {part['runtime_s']:.0f} s.",
        "",
        part["table"],
        "",
        targets_table(part["targets"]),
    ]
