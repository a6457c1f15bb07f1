"""Smoke test of the benchmark script: it runs end to end and reports every row. No timing asserts.

The benchmark is a script, not a test; this only proves it still works (``--quick`` takes seconds),
so that `make bench` does not rot between the times someone runs it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
SCENARIOS = ("slash command", "slash command, then 1 ms of work", "app_mention event", "block action")
VARIANTS = ("bare view", "Bolt adapter", "ours")
HAS_GUNICORN = importlib.util.find_spec("gunicorn") is not None

pytestmark = pytest.mark.skipif(not BENCH.exists(), reason="bench/run.py is not in this tree (e.g. an sdist)")


def run_bench(out: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"bench/run.py failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def rows_of(table_text: str) -> set[tuple[str, str]]:
    rows = set()
    for line in table_text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2:
            rows.add((cells[0], cells[1]))
    return rows


def test_quick_run_reports_every_scenario_and_variant(tmp_path: Path) -> None:
    stdout = run_bench(tmp_path)

    expected = {(scenario, variant) for scenario in SCENARIOS for variant in VARIANTS}
    results = json.loads((tmp_path / "latest.json").read_text())
    markdown = (tmp_path / "latest.md").read_text()
    in_process = results["in_process"]
    assert expected <= rows_of(in_process["table"])
    assert in_process["table"] in stdout
    assert in_process["table"] in markdown
    assert {(row["scenario"], row["variant"]) for row in in_process["rows"]} == {
        (scenario, variant)
        for scenario in ("slash_command", "command_then_work", "app_mention", "block_action")
        for variant in ("bare", "bolt", "ours")
    }
    assert [target["target"].split(" ")[0] for target in in_process["targets"]] == ["slash", "app_mention"]
    for key in ("cpu_count", "python", "django", "slack_bolt", "date"):
        assert results["machine"][key]

    if HAS_GUNICORN:
        load = results["load"]
        # The load part runs the slash command and the event by default.
        assert {(s, v) for s in ("slash command", "app_mention event") for v in VARIANTS} <= rows_of(
            load["table"]
        )
        assert load["table"] in stdout
        assert all(row["requests_per_s"] > 0 for row in load["rows"])
        assert all(row["errors"] == 0 for row in load["rows"])
    else:
        assert "skipped" in results["load"]


@pytest.mark.skipif(not HAS_GUNICORN, reason="the load part needs gunicorn")
def test_python_load_client_fallback(tmp_path: Path) -> None:
    # The client used where wrk is not installed; forced here so it is exercised where wrk is.
    run_bench(tmp_path, "--part", "load", "--load-client", "python", "--load-scenarios", "slash_command")

    results = json.loads((tmp_path / "latest.json").read_text())
    assert "in_process" not in results
    assert results["load"]["client"].startswith("python")
    assert {(row["scenario"], row["variant"]) for row in results["load"]["rows"]} == {
        ("slash_command", "bare"),
        ("slash_command", "bolt"),
        ("slash_command", "ours"),
    }
    assert all(row["requests_per_s"] > 0 and row["errors"] == 0 for row in results["load"]["rows"])
