"""Load clients: Debian's ``wrk`` and, where it is missing, a small keep-alive client in Python.

A run is started, may be aborted (when the server spread its connections badly, see
:mod:`harness.server`), and otherwise ends by itself after its duration; every run is bounded in
time, the Python client's in count too, and only ever talks to the URL it is given (127.0.0.1).
"""

from __future__ import annotations

import http.client
import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from project.payloads import Scenario

from .stats import percentile


@dataclass(frozen=True)
class Measured:
    """What a load client saw in one run. Errors are non-200 answers, socket errors and timeouts."""

    responses: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float


class RunningLoad(Protocol):
    def abort(self) -> None:
        """Stop the run now; its result is not wanted."""

    def result(self) -> Measured:
        """Wait for the run to end by itself and return what it measured."""


class LoadClient(Protocol):
    description: str

    def start(
        self, url: str, scenario: Scenario, headers: dict[str, str], duration_s: int, connections: int
    ) -> RunningLoad:
        """Start POSTing ``scenario`` (with ``headers``) to ``url`` for ``duration_s`` seconds."""


def lua_string(text: str) -> str:
    """A Lua string literal for ``text``: decimal byte escapes (valid in every Lua) for anything unusual."""
    parts = []
    for byte in text.encode():
        char = chr(byte)
        plain = 0x20 <= byte < 0x7F and char not in '"\\'
        parts.append(char if plain else f"\\{byte:03d}")
    return '"' + "".join(parts) + '"'


# wrk's own report is for people; this prints one machine-readable line instead (latency in µs).
_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, "
      .. "\\"p50_us\\": %d, \\"p99_us\\": %d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class _WrkRun:
    def __init__(self, process: subprocess.Popen[str], duration_s: int) -> None:
        self.process = process
        self.duration_s = duration_s

    def abort(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)

    def result(self) -> Measured:
        stdout, stderr = self.process.communicate(timeout=self.duration_s + 60)
        for line in stdout.splitlines():
            if line.startswith("BENCH_RESULT "):
                result = json.loads(line.removeprefix("BENCH_RESULT "))
                return Measured(
                    responses=result["requests"],
                    seconds=result["duration_us"] / 1e6,
                    errors=result["errors"],
                    p50_ms=result["p50_us"] / 1000,
                    p99_ms=result["p99_us"] / 1000,
                )
        raise RuntimeError(f"wrk printed no result (exit {self.process.returncode}): {stdout}{stderr}")


class WrkClient:
    """Debian's wrk with one thread (the other core is gunicorn's), driven by a generated Lua script."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
        self.description = (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()

    def start(
        self, url: str, scenario: Scenario, headers: dict[str, str], duration_s: int, connections: int
    ) -> RunningLoad:
        # The script is written anew for every run, with that run's freshly signed headers: wrk
        # cannot compute Slack's HMAC itself, and a run is far shorter than the five-minute window.
        lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(scenario.body)}"]
        for name, value in {"Content-Type": scenario.content_type, **headers}.items():
            lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
        script = self.workdir / "signed_post.lua"
        script.write_text("\n".join(lines) + "\n" + _WRK_DONE)
        command = [self.executable, "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "5s"]
        process = subprocess.Popen(
            [*command, "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return _WrkRun(process, duration_s)


class _PythonRun:
    def __init__(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        duration_s: float,
        connections: int,
        max_requests: int,
    ) -> None:
        self.parsed = urlsplit(url)
        self.body = body
        self.headers = headers
        self.max_requests = max_requests
        self.tickets = itertools.count()  # next() on it is atomic under the GIL: a shared budget
        self.latencies: list[list[float]] = [[] for _ in range(connections)]
        self.errors = [0] * connections
        self.stop = threading.Event()
        self.duration_s = duration_s
        self.deadline = time.perf_counter() + duration_s
        self.started = time.perf_counter()
        self.threads = [
            threading.Thread(target=self._worker, args=(i,), daemon=True) for i in range(connections)
        ]
        for thread in self.threads:
            thread.start()

    def _worker(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        while (
            not self.stop.is_set()
            and time.perf_counter() < self.deadline
            and next(self.tickets) < self.max_requests
        ):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.parsed.hostname, self.parsed.port, timeout=10)
                before = time.perf_counter()
                conn.request("POST", self.parsed.path, self.body, self.headers)
                response = conn.getresponse()
                response.read()
                self.latencies[index].append((time.perf_counter() - before) * 1000)
                if response.status != 200:
                    self.errors[index] += 1
            except (OSError, http.client.HTTPException):
                self.errors[index] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def abort(self) -> None:
        self.stop.set()
        self._join()

    def _join(self) -> None:
        for thread in self.threads:
            thread.join(self.duration_s + 30)

    def result(self) -> Measured:
        self._join()
        elapsed = time.perf_counter() - self.started
        samples = sorted(itertools.chain.from_iterable(self.latencies))
        return Measured(
            responses=len(samples),
            seconds=elapsed,
            errors=sum(self.errors),
            p50_ms=percentile(samples, 50),
            p99_ms=percentile(samples, 99),
        )


class PythonClient:
    """Keep-alive http.client connections, one thread each, bounded by duration and by count.

    Its own overhead (and the GIL) caps the rate it reaches well below wrk's: its numbers compare
    the variants, not the server's capacity.
    """

    def __init__(self, max_requests: int) -> None:
        self.max_requests = max_requests
        self.description = f"python http.client keep-alive threads (Python {sys.version.split()[0]})"

    def start(
        self, url: str, scenario: Scenario, headers: dict[str, str], duration_s: float, connections: int
    ) -> RunningLoad:
        request_headers = {"Content-Type": scenario.content_type, **headers}
        return _PythonRun(
            url, scenario.body.encode(), request_headers, duration_s, connections, self.max_requests
        )


def choose_client(choice: str, workdir: Path, max_requests: int) -> LoadClient:
    """``wrk`` when asked for or (``auto``) installed; else the Python client."""
    executable = shutil.which("wrk")
    if choice == "wrk" and executable is None:
        raise RuntimeError("--load-client wrk: wrk is not installed (apt-get install -y wrk)")
    if choice in ("auto", "wrk") and executable is not None:
        return WrkClient(executable, workdir)
    return PythonClient(max_requests)
