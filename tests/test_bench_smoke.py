"""Smoke test of the benchmark script: it runs end to end and reports every row. No timing asserts.

The benchmark is a script, not a test; this only proves it still works (``--quick`` takes seconds),
so that `make bench` does not rot between the times someone runs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"
SCENARIOS = ("slash command", "slash command, then 1 ms of work", "app_mention event", "block action")
VARIANTS = ("bare view", "Bolt adapter", "ours")
AUTHORIZE_VARIANTS = ("bolt_default", "django_authorize")
ASYNC_VARIANTS = ("async_bare", "async_ours", "async_bolt_runner")
ASYNC_LOAD_VARIANTS = ("sync_app", "async_app", "async_bare_call")
HAS_GUNICORN = importlib.util.find_spec("gunicorn") is not None
HAS_AIOHTTP = importlib.util.find_spec("aiohttp") is not None
HAS_ASYNC_SERVERS = HAS_GUNICORN and HAS_AIOHTTP and importlib.util.find_spec("uvicorn") is not None
# The async part loads the fake Slack alone only with wrk (the Python client would share its process).
HAS_WRK = shutil.which("wrk") is not None
# The stores part compares with slack_sdk's SQLAlchemy store (bench/requirements.txt); without it, it skips.
HAS_SQLALCHEMY = importlib.util.find_spec("sqlalchemy") is not None
STORE_OPERATIONS = ("find_installation", "find_installation_user", "find_bot", "authorize")
LAZY_CELLS = {("lazy_ours", "idle"), ("lazy_ours", "busy"), ("lazy_bolt", "idle"), ("lazy_bolt", "busy")}
# The tests' PostgreSQL server (.ci/run starts one): the stores part runs on a database of its own there.
POSTGRES_URL = os.environ.get("DJANGO_SLACK_BOLT_TEST_POSTGRES", "")

pytestmark = pytest.mark.skipif(not BENCH.exists(), reason="bench/run.py is not in this tree (e.g. an sdist)")


def run_bench(out: Path, *extra: str) -> str:
    # Not the caller's PostgreSQL for the stores part: a test that wants one passes --postgres.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SLACK_BOLT_BENCH_POSTGRES"}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
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

    check_authorize_part(results, stdout, markdown)
    check_async_part(results, stdout, markdown, concurrencies=(8, 16), fake_alone=HAS_WRK)  # --quick's
    check_stores_part(results, stdout, markdown, databases=("sqlite",))
    check_lazy_part(results, stdout, markdown)


def check_authorize_part(results: dict, stdout: str, markdown: str) -> None:
    authorize = results["authorize"]
    assert authorize["per_request_table"] in stdout
    assert authorize["per_request_table"] in markdown
    per_request = {(row["variant"], row["request"]): row for row in authorize["per_request"]}
    assert set(per_request) == {(v, r) for v in AUTHORIZE_VARIANTS for r in ("cold", "warm")}
    # Counts, not timings: Bolt's default calls auth.test for every request, DjangoAuthorize never,
    # and reads nothing from the database once its cache is warm.
    for request in ("cold", "warm"):
        bolt = per_request["bolt_default", request]
        assert bolt["web_api_calls"] == bolt["requests"] > 0
        assert per_request["django_authorize", request]["web_api_calls"] == 0
    assert per_request["django_authorize", "warm"]["db_queries"] == 0
    assert authorize["targets"][0]["target"].startswith("DjangoAuthorize: no Web API call")
    assert authorize["targets"][0]["met"]

    if HAS_GUNICORN:
        assert authorize["table"] in stdout
        assert authorize["table"] in markdown
        rows = {row["variant"]: row for row in authorize["rows"]}
        assert set(rows) == set(AUTHORIZE_VARIANTS)
        assert all(row["requests_per_s"] > 0 and row["errors"] == 0 for row in rows.values())
        assert rows["bolt_default"]["web_api_calls"] > 0
        assert rows["django_authorize"]["web_api_calls"] == 0
        assert len(authorize["targets"]) == 2
        assert authorize["targets"][1]["target"].startswith("DjangoAuthorize at least 10x the req/s")
    else:
        assert "skipped" in authorize


def check_async_part(
    results: dict, stdout: str, markdown: str, *, concurrencies: tuple[int, ...], fake_alone: bool
) -> None:
    part = results["async"]
    if not HAS_AIOHTTP:
        assert set(part["skipped"]) == {"In-process", "Under load"}
        return
    in_process = part["in_process"]
    assert in_process["table"] in stdout
    assert in_process["table"] in markdown
    assert [row["variant"] for row in in_process["rows"]] == list(ASYNC_VARIANTS)
    assert part["targets"][0]["target"].startswith("AsyncApp slash command through AsyncSlackEventsView")

    if not HAS_ASYNC_SERVERS:
        assert "Under load" in part["skipped"]
        return
    load = part["load"]
    assert load["table"] in stdout
    assert load["table"] in markdown
    rows = {(row["concurrency"], row["variant"]): row for row in load["rows"]}
    expected = {(c, v) for c in concurrencies for v in ASYNC_LOAD_VARIANTS}
    if fake_alone:
        expected |= {(c, "fake_alone") for c in concurrencies}
    assert set(rows) == expected
    for (_, variant), row in rows.items():
        assert row["requests_per_s"] > 0
        assert row["errors"] == 0
        if variant == "fake_alone":
            continue
        # Counts, not timings: every answered request made its chat.postMessage call before it was
        # acknowledged, and a request the client left unanswered at most one more.
        assert row["requests"] <= row["web_api_calls"] <= row["handled"]
        assert len(row["rss_mb"]) == 2  # --workers 2: one figure per worker process
        assert all(mb > 10 for mb in row["rss_mb"])
        assert row["cpu_ms_per_request"] > 0
    assert all(len(rss) == 2 for rss in load["start_rss_mb"].values())
    assert [target["target"].split(" ")[0] for target in part["targets"]] == ["AsyncApp"] * 3
    assert "AsyncApp under uvicorn at least 3x" in part["targets"][1]["target"]
    assert "memory no higher" in part["targets"][2]["target"]


def check_stores_part(results: dict, stdout: str, markdown: str, *, databases: tuple[str, ...]) -> None:
    part = results["stores"]
    if not HAS_SQLALCHEMY:
        assert "SQLAlchemy is not installed" in part["skipped"]["part"]
        return
    assert part["table"] in stdout
    assert part["table"] in markdown
    assert part["installations"] == 4 * 2  # --quick: 4 workspaces x 2 users
    assert set(part["databases"]) == set(databases)
    rows = {(row["database"], row["operation"], row["store"]): row for row in part["rows"]}
    assert set(rows) == {
        (d, o, s) for d in databases for o in STORE_OPERATIONS for s in ("ours", "slack_sdk")
    }
    assert all(row["n"] > 0 and row["median_ms"] > 0 for row in rows.values())
    # Counts, not timings: one query for each of our reads, the cold authorization included, and two
    # for slack_sdk's user-level find_installation (the installation, then the latest bot).
    for database in databases:
        for operation in STORE_OPERATIONS:
            assert rows[database, operation, "ours"]["queries_per_call"] == 1
            assert rows[database, operation, "ours"]["ours_vs_slack_sdk"] > 0
        assert rows[database, "find_installation_user", "slack_sdk"]["queries_per_call"] == 2
    targets = part["targets"]
    assert len(targets) == 4 * len(databases)  # three reads and the authorization's query, per database
    assert all(target["met"] for target in targets if "query" in target["target"])


def check_lazy_part(results: dict, stdout: str, markdown: str) -> None:
    part = results["lazy"]
    assert part["table"] in stdout
    assert part["table"] in markdown
    rows = {(row["variant"], row["state"]): row for row in part["rows"]}
    assert set(rows) == LAZY_CELLS
    assert part["lazy_listener_workers"] == 10
    assert part["bolt_listener_executor_workers"] == 5
    # Counts, not timings: with nothing in flight every ping is answered; with more slow lazy listeners
    # in flight than Bolt's five listener threads (--quick: 6), ours still answers every /ping and
    # Bolt's adapter none (it gives up waiting for the ack: 404).
    for key in LAZY_CELLS:
        assert rows[key]["n"] > 0
    assert rows["lazy_ours", "idle"]["not_200"] == rows["lazy_bolt", "idle"]["not_200"] == 0
    ours, bolt = rows["lazy_ours", "busy"], rows["lazy_bolt", "busy"]
    assert ours["in_flight"] == bolt["in_flight"] == 6
    assert ours["not_200"] == 0
    assert ours["report_not_200"] == 0
    assert ours["running"] == 6  # all of them: our pool has ten threads
    assert bolt["not_200"] == bolt["n"]
    assert bolt["statuses"] == {"404": bolt["n"]}
    assert bolt["running"] == 5  # Bolt's listener executor, full
    assert part["targets"][0]["target"].startswith("/ping through ours answered 200 every time")
    assert part["targets"][0]["met"]


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server, dropped after: test runs sharing the server never clash."""
    psycopg = pytest.importorskip("psycopg")
    name = f"bench_smoke_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="no PostgreSQL server: set DJANGO_SLACK_BOLT_TEST_POSTGRES")
@pytest.mark.skipif(not HAS_SQLALCHEMY, reason="the stores part needs SQLAlchemy (bench/requirements.txt)")
def test_stores_part_on_postgres(tmp_path: Path) -> None:
    with throwaway_database(POSTGRES_URL) as url:
        stdout = run_bench(tmp_path, "--parts", "stores", "--postgres", url)

    written, markdown = (tmp_path / "latest.json").read_text(), (tmp_path / "latest.md").read_text()
    results = json.loads(written)
    assert set(results) == {"machine", "config", "stores", "runtime_s"}
    assert results["stores"]["config"]["postgres"] is True
    # The URL may hold a password: the part says where the server is, never the URL itself.
    for text in (written, markdown, stdout):
        assert url not in text
    check_stores_part(results, stdout, markdown, databases=("sqlite", "postgresql"))


@pytest.mark.skipif(not HAS_GUNICORN, reason="the load part needs gunicorn")
def test_python_load_client_fallback(tmp_path: Path) -> None:
    # The client used where wrk is not installed; forced here so it is exercised where wrk is, in
    # both parts that use it (the authorization part sends its requests to many workspaces in turn).
    stdout = run_bench(
        tmp_path,
        "--parts",
        "load,authorize",
        "--load-client",
        "python",
        "--load-scenarios",
        "slash_command",
        "--workspaces",
        "3",
    )

    results = json.loads((tmp_path / "latest.json").read_text())
    assert "in_process" not in results
    assert results["load"]["client"].startswith("python")
    assert results["authorize"]["client"].startswith("python")
    check_authorize_part(results, stdout, (tmp_path / "latest.md").read_text())
    assert {(row["scenario"], row["variant"]) for row in results["load"]["rows"]} == {
        ("slash_command", "bare"),
        ("slash_command", "bolt"),
        ("slash_command", "ours"),
    }
    assert all(row["requests_per_s"] > 0 and row["errors"] == 0 for row in results["load"]["rows"])


@pytest.mark.skipif(not HAS_AIOHTTP, reason="the async part needs aiohttp")
def test_async_part_alone_with_the_python_client(tmp_path: Path) -> None:
    # The async part by itself, cheaply: few connections, and the client used where wrk is missing
    # (which cannot measure the fake Slack alone: it would share the fake's process).
    stdout = run_bench(tmp_path, "--parts", "async", "--load-client", "python", "--async-concurrency", "4,8")

    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(results) == {"machine", "config", "async", "runtime_s"}
    check_async_part(
        results, stdout, (tmp_path / "latest.md").read_text(), concurrencies=(4, 8), fake_alone=False
    )
    if HAS_ASYNC_SERVERS:
        load = results["async"]["load"]
        assert load["client"].startswith("python")
        assert load["fake_alone_skipped"].startswith("needs wrk")
