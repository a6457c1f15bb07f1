"""Cached authorizations across worker processes: invalidation must reach every worker.

Two gunicorn workers serve an app authorized by DjangoAuthorize; another process re-installs the
workspace with a new bot token (as an OAuth callback served by a third worker would). With a cache
the workers share (Redis), every worker answers with the new token at once. With a cache of each
process's own (LocMemCache, the control) a worker keeps the token it cached: what check
django_slack_bolt.W004 warns about.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from django_slack_bolt.testing import SlackRequest, slash_command
from tests.apps.slack_app import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.apps.shared_cache"
IN_CI = os.environ.get("CI") == "true"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        if IN_CI:
            pytest.fail("redis-server is not installed (.ci/run installs Debian's redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


class RedisServer:
    """A real redis-server on 127.0.0.1 that a test can stop and start again on the same port."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash or an OOM kill would: no goodbye to the clients
            self.process.wait(10)
            self.process = None


@pytest.fixture
def restartable_redis() -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        if IN_CI:
            pytest.fail("redis-server is not installed (.ci/run installs Debian's redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _env(db: Path, cache: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "SHARED_DB": str(db),
        "SHARED_CACHE": cache,
        "PYTHONPATH": str(ROOT),
    }


def _save(env: dict[str, str], token: str) -> None:
    subprocess.run([sys.executable, "-m", SETTINGS, "T1", token], env=env, check=True, cwd=ROOT)


def _whoami(port: int, hold: float, request: SlackRequest | None = None) -> tuple[str, str]:
    if request is None:
        request = slash_command(
            "/whoami", str(hold), signing_secret=SIGNING_SECRET, team_id="T1", user_id="U1"
        )
    http = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=request.body.encode(),
        headers={**request.headers, "Content-Type": request.content_type, "Connection": "close"},
    )
    with urllib.request.urlopen(http, timeout=10) as response:
        answer = response.read().decode().split()
    # A refused replay is answered 200 with nothing in it.
    return (answer[0], answer[1]) if answer else ("", "")


def _answers_by_worker(port: int, workers: int = 2, timeout: float = 30) -> dict[str, set[str]]:
    """Tokens each worker answered with, until every worker answered at least twice.

    Which idle worker accepts a connection is the kernel's choice, and one may still be starting: a
    sequence of requests can all reach the same worker. So the requests go in rounds of ``workers`` at
    once, each keeping its (sync) worker busy for a moment: once every worker runs, a round reaches
    each of them.
    """
    seen: dict[str, list[str]] = {}
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(workers) as pool:
        while time.monotonic() < deadline:
            for pid, token in pool.map(_whoami, [port] * workers, [0.2] * workers):
                seen.setdefault(pid, []).append(token)
            if len(seen) >= workers and all(len(tokens) >= 2 for tokens in seen.values()):
                break
    assert len(seen) == workers, f"requests reached {len(seen)} of {workers} workers"
    return {pid: set(tokens) for pid, tokens in seen.items()}


@contextlib.contextmanager
def _gunicorn(tmp_path: Path, cache: str, log: Path | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Two sync gunicorn workers serving the app, with T1 installed with xoxb-first."""
    db = tmp_path / "shared.sqlite3"
    env = _env(db, cache)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    _save(env, "xoxb-first")
    port = _free_port()
    log_file = log.open("wb") if log is not None else None
    gunicorn = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync",
            "--no-control-socket", "--log-level", "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=log_file,
    )  # fmt: skip
    try:
        _wait_for_port(port, gunicorn)
        yield port, env
    finally:
        gunicorn.terminate()
        gunicorn.wait(20)
        if log_file is not None:
            log_file.close()


def _serve_and_reinstall(tmp_path: Path, cache: str) -> dict[str, set[str]]:
    with _gunicorn(tmp_path, cache) as (port, env):
        before = _answers_by_worker(port)
        assert all(tokens == {"xoxb-first"} for tokens in before.values()), before
        _save(env, "xoxb-second")  # re-installed, from another process
        return _answers_by_worker(port)


def _runs_of_one_captured_request(tmp_path: Path, cache: str) -> list[str]:
    """The workers that ran one signed request sent 8 times, in pairs that reach both workers."""
    with _gunicorn(tmp_path, cache) as (port, _):
        _answers_by_worker(port)  # both workers are up
        captured = slash_command("/whoami", "0.2", signing_secret=SIGNING_SECRET, team_id="T1", user_id="U1")
        ran: list[str] = []
        with ThreadPoolExecutor(2) as pool:
            for _ in range(4):
                for pid, _token in pool.map(lambda _: _whoami(port, 0, captured), range(2)):
                    if pid:
                        ran.append(pid)
        return ran


def test_redis_cache_invalidation_reaches_every_worker(tmp_path: Path, redis_url: str) -> None:
    after = _serve_and_reinstall(tmp_path, redis_url)
    assert all(tokens == {"xoxb-second"} for tokens in after.values()), after


def test_control_a_per_process_cache_keeps_the_old_token(tmp_path: Path) -> None:
    after = _serve_and_reinstall(tmp_path, "locmem")
    assert any("xoxb-first" in tokens for tokens in after.values()), after


def test_a_replay_is_refused_by_every_worker_with_a_shared_cache(tmp_path: Path, redis_url: str) -> None:
    assert len(_runs_of_one_captured_request(tmp_path, redis_url)) == 1


def test_control_with_a_per_process_cache_another_worker_runs_the_replay(tmp_path: Path) -> None:
    # What check django_slack_bolt.W005 warns about: each worker has its own claims.
    assert len(set(_runs_of_one_captured_request(tmp_path, "locmem"))) == 2


def test_redis_stopped_and_started_under_gunicorn(tmp_path: Path, restartable_redis: RedisServer) -> None:
    """A Redis outage degrades to reading the database, logged once per worker, and recovers by itself."""
    log = tmp_path / "gunicorn.log"
    with _gunicorn(tmp_path, restartable_redis.url, log) as (port, env):
        before = _answers_by_worker(port)
        assert all(tokens == {"xoxb-first"} for tokens in before.values()), before

        restartable_redis.stop()
        during = _answers_by_worker(port)  # no 500: every answer is 200 with the stored token
        assert all(tokens == {"xoxb-first"} for tokens in during.values()), during
        more = _answers_by_worker(port)
        assert all(tokens == {"xoxb-first"} for tokens in more.values()), more

        restartable_redis.start()
        _answers_by_worker(port)  # the first requests after the restart see it answer again
        _save(env, "xoxb-second")  # the cache works again: the re-install reaches every worker
        after = _answers_by_worker(port)
        assert all(tokens == {"xoxb-second"} for tokens in after.values()), after
    text = log.read_text(errors="replace")
    # Once per worker process at the most for the outage, not per request (dozens were served).
    assert 1 <= text.count("cache failed") <= 2, text[-3000:]
    assert 1 <= text.count("cache answers again.") <= 2, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def test_redis_stopped_and_started_under_uvicorn(tmp_path: Path, restartable_redis: RedisServer) -> None:
    """The same with an AsyncApp (AsyncDjangoAuthorize, Django's async cache API) under uvicorn."""
    pytest.importorskip("uvicorn")
    pytest.importorskip("aiohttp")
    env = {**_env(tmp_path / "shared.sqlite3", restartable_redis.url), "SHARED_ASYNC": "1"}
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    _save(env, "xoxb-first")
    port = _free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as log_file:
        uvicorn = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "tests.apps.shared_cache:application", "--host", "127.0.0.1",
                "--port", str(port), "--lifespan", "off", "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stderr=log_file,
        )  # fmt: skip
        try:
            _wait_for_port(port, uvicorn)
            assert {_whoami(port, 0)[1] for _ in range(3)} == {"xoxb-first"}
            restartable_redis.stop()
            assert {_whoami(port, 0)[1] for _ in range(10)} == {"xoxb-first"}  # 200s, from the database
            restartable_redis.start()
            assert {_whoami(port, 0)[1] for _ in range(3)} == {"xoxb-first"}
            _save(env, "xoxb-second")
            assert {_whoami(port, 0)[1] for _ in range(3)} == {"xoxb-second"}
        finally:
            uvicorn.terminate()
            uvicorn.wait(20)
    text = log.read_text(errors="replace")
    assert text.count("cache failed") == 1, text[-3000:]
    assert text.count("cache answers again.") == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
