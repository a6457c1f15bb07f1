"""Load clients: Debian's ``wrk`` and, where it is missing, a small keep-alive client in Python.

Both send one signed request over and over, or (``start_rotating``) a list of them in turn: the
authorization part spreads its requests over many workspaces.

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from project.payloads import Scenario

from .stats import percentile


@dataclass(frozen=True)
class Measured:
    """What a load client saw in one run. Errors are non-200 answers, socket errors and timeouts.

    ``abandoned``: requests sent but left unanswered when the run ended (the server still handles them).
    """

    responses: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    abandoned: int = 0


class RunningLoad(Protocol):
    def abort(self) -> None:
        """Stop the run now; its result is not wanted."""

    def result(self) -> Measured:
        """Wait for the run to end by itself and return what it measured."""


@dataclass(frozen=True)
class SignedRequest:
    """One POST body and its headers (content type and Slack's signature included)."""

    body: str
    headers: dict[str, str]


class LoadClient(Protocol):
    description: str

    def start(
        self, url: str, scenario: Scenario, headers: dict[str, str], duration_s: int, connections: int
    ) -> RunningLoad:
        """Start POSTing ``scenario`` (with ``headers``) to ``url`` for ``duration_s`` seconds."""

    def start_rotating(
        self, url: str, requests: Sequence[SignedRequest], duration_s: int, connections: int
    ) -> RunningLoad:
        """Start POSTing ``requests`` to ``url`` in turn, over and over, for ``duration_s`` seconds."""


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


# Rotating among signed requests: wrk calls request() for every request when the script defines it.
_WRK_ROTATE = """
local formatted = {}
local turn = 0

init = function(args)
  for i, request in ipairs(signed) do
    formatted[i] = wrk.format("POST", nil, request.headers, request.body)
  end
end

request = function()
  turn = turn % #formatted + 1
  return formatted[turn]
end
"""


class _WrkRun:
    def __init__(self, process: subprocess.Popen[str], duration_s: int, connections: int) -> None:
        self.process = process
        self.duration_s = duration_s
        # wrk sends the next request as soon as an answer arrives, and stops without waiting for
        # the last ones: each connection leaves one behind.
        self.abandoned = connections

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
                    abandoned=self.abandoned,
                )
        raise RuntimeError(f"wrk printed no result (exit {self.process.returncode}): {stdout}{stderr}")


class WrkClient:
    """Debian's wrk, driven by a generated Lua script; one thread by default (the other core is the
    server's)."""

    def __init__(self, executable: str, workdir: Path, threads: int = 1) -> None:
        self.executable = executable
        self.workdir = workdir
        self.threads = threads
        done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
        self.description = (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()
        if threads != 1:
            self.description += f", {threads} threads"

    def start(
        self, url: str, scenario: Scenario, headers: dict[str, str], duration_s: int, connections: int
    ) -> RunningLoad:
        # The script is written anew for every run, with that run's freshly signed headers: wrk
        # cannot compute Slack's HMAC itself, and a run is far shorter than the five-minute window.
        lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(scenario.body)}"]
        for name, value in {"Content-Type": scenario.content_type, **headers}.items():
            lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
        return self._run("\n".join(lines) + "\n" + _WRK_DONE, url, duration_s, connections)

    def start_rotating(
        self, url: str, requests: Sequence[SignedRequest], duration_s: int, connections: int
    ) -> RunningLoad:
        # Every request is formatted once, in init(); request() then only hands out the next one.
        entries = []
        for signed in requests:
            headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in signed.headers.items())
            entries.append(f"  {{body = {lua_string(signed.body)}, headers = {{{headers}}}}},")
        script_text = "\n".join(["local signed = {", *entries, "}", _WRK_ROTATE]) + "\n" + _WRK_DONE
        return self._run(script_text, url, duration_s, connections)

    def _run(self, script_text: str, url: str, duration_s: int, connections: int) -> _WrkRun:
        script = self.workdir / "signed_post.lua"
        script.write_text(script_text)
        threads = min(self.threads, connections)  # wrk wants at least a connection per thread
        command = [self.executable, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--timeout", "5s"]
        process = subprocess.Popen(
            [*command, "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return _WrkRun(process, duration_s, connections)


class _PythonRun:
    def __init__(
        self,
        url: str,
        requests: Sequence[tuple[bytes, dict[str, str]]],
        duration_s: float,
        connections: int,
        max_requests: int,
    ) -> None:
        self.parsed = urlsplit(url)
        self.requests = list(requests)  # sent in turn, the ticket number choosing
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
        while not self.stop.is_set() and time.perf_counter() < self.deadline:
            ticket = next(self.tickets)
            if ticket >= self.max_requests:
                break
            body, headers = self.requests[ticket % len(self.requests)]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.parsed.hostname, self.parsed.port, timeout=10)
                before = time.perf_counter()
                conn.request("POST", self.parsed.path, body, headers)
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
            url, [(scenario.body.encode(), request_headers)], duration_s, connections, self.max_requests
        )

    def start_rotating(
        self, url: str, requests: Sequence[SignedRequest], duration_s: float, connections: int
    ) -> RunningLoad:
        encoded = [(signed.body.encode(), signed.headers) for signed in requests]
        return _PythonRun(url, encoded, duration_s, connections, self.max_requests)


def choose_client(choice: str, workdir: Path, max_requests: int, wrk_threads: int = 1) -> LoadClient:
    """``wrk`` when asked for or (``auto``) installed; else the Python client."""
    executable = shutil.which("wrk")
    if choice == "wrk" and executable is None:
        raise RuntimeError("--load-client wrk: wrk is not installed (apt-get install -y wrk)")
    if choice in ("auto", "wrk") and executable is not None:
        return WrkClient(executable, workdir, wrk_threads)
    return PythonClient(max_requests)
