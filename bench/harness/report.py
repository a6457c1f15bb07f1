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
from project.urls import VARIANTS_BY_KEY

from .inprocess import Cell
from .load import LoadReport, LoadRun
from .stats import Summary, describe_ratio, ratio

# The goals the benchmark reports against (from the project's performance brief).
SLASH_MAX_X_BARE = 3.0
EVENT_MAX_OURS_OVER_BOLT = 1.05


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
    return "\n".join(out) + "\n"
