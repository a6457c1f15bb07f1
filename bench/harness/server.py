"""gunicorn and uvicorn serving the bench project on 127.0.0.1, and how they spread the client's connections.

gunicorn's workers race to accept connections. With a handful of keep-alive connections opened at
once (what wrk does), about one run in three ends with a single worker holding all of them: that run
is bound to one core and measures half the req/s, whichever variant it was; an uneven spread such as
6 + 2 also caps the variants whose requests hold a thread while they wait (Bolt's 10 ms polling).
The load part therefore looks (through /proc, Linux only) at which worker holds which connection, and
starts a run again until every worker holds enough to keep all its threads busy. uvicorn's workers
race the same way. /proc also gives each worker's resident memory and CPU time (the async part).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

HOST = "127.0.0.1"
_Server = TypeVar("_Server", bound="ServerProcess")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server process serving the bench project on 127.0.0.1, for the duration of a ``with`` block.

    Subclasses give the command; this starts it with the bench's environment (plus ``env``), waits
    until every worker answers, and stops it. Through /proc (Linux) it also tells which worker holds
    which client connection, and each worker's resident memory and CPU time.
    """

    description = ""
    name = "server"

    def __init__(self, log_path: Path, workers: int, env: Mapping[str, str] | None = None) -> None:
        self.port = _free_port()
        self.log_path = log_path
        self.workers = workers
        self.env = dict(env or {})  # on top of this process's environment
        self.command: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._worker_pids: list[int] = []

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def __enter__(self: _Server) -> _Server:
        self.start()
        try:
            self.wait_until_ready(timeout_s=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def start(self) -> None:
        """Start the process; :meth:`wait_until_ready` then waits for it (so two servers start at once)."""
        # Forced, like in run.py: the caller's environment may name another settings module.
        env = {**os.environ, **self.env, "DJANGO_SETTINGS_MODULE": "project.settings"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_ready(self, timeout_s: float) -> None:
        """Until the server answers ``GET /bare/`` (the first worker is up)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                try:
                    conn.request("GET", "/bare/")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def wait_for_every_worker(self, timeout_s: float) -> None:
        """Until each worker has answered ``GET /pid/`` (with its pid) on a connection of its own.

        The first worker up answers :meth:`wait_until_ready`; the others may still be importing, and a
        run started then would pile its connections on the first.
        """
        deadline = time.monotonic() + timeout_s
        answered: set[int] = set()
        while time.monotonic() < deadline:
            expected = set(self.worker_pids())
            if len(expected) >= self.workers and expected <= answered:
                return
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                conn.request("GET", "/pid/")
                response = conn.getresponse()
                if response.status == 200:
                    answered.add(int(response.read()))
            except (OSError, ValueError, http.client.HTTPException):
                time.sleep(0.05)
            finally:
                conn.close()
        raise RuntimeError(
            f"{self.name}: workers {sorted(self.worker_pids())}, only {sorted(answered)} answered within "
            f"{timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        workers = {pid: _cmdline(pid) for pid in self.worker_pids()}
        # SIGTERM to the main process (our own child, by pid) is a graceful shutdown, workers included.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid, cmdline in workers.items():
            # A worker its main process left behind: still there, by pid and command line (only ours).
            if _parent_of(pid) not in (None, self.process.pid) and _cmdline(pid) == cmdline:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def worker_pids(self) -> list[int]:
        """The worker processes (the main process's children that serve requests), lowest pid first."""
        if self.process is None or not Path("/proc").is_dir():
            return []
        return sorted(pid for pid in _children(self.process.pid) if self._is_worker(pid))

    def _is_worker(self, pid: int) -> bool:
        return True

    def connections_per_worker(self) -> list[int] | None:
        """How many established client connections each worker holds, or None where /proc can't tell."""
        if self.process is None or not Path("/proc/net/tcp").exists():
            return None
        established = _established_socket_inodes(self.port)
        workers = self.worker_pids()
        if not workers:
            return None
        return sorted((len(_socket_inodes(pid) & established) for pid in workers), reverse=True)

    def worker_stats(self) -> list[WorkerStats]:
        """Each worker's resident memory and CPU time so far (empty where /proc can't tell)."""
        stats = []
        for pid in self.worker_pids():
            stat = worker_stats(pid)
            if stat is not None:
                stats.append(stat)
        return stats


class GunicornServer(ServerProcess):
    """gunicorn with gthread workers."""

    name = "gunicorn"

    def __init__(
        self,
        bench_dir: Path,
        workers: int,
        threads: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(log_path, workers, env)
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi:application",
            "--pythonpath",
            str(bench_dir),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ]
        self.description = (
            f"gunicorn {version('gunicorn')} --workers {workers} -k gthread --threads {threads}"
        )


def uvicorn_loop_and_http() -> tuple[str, str]:
    """uvloop and httptools where installed (what ``uvicorn[standard]`` brings), else asyncio and h11."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    http_impl = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    return loop, http_impl


class UvicornServer(ServerProcess):
    """uvicorn's multi-worker mode, serving the project's ASGI application.

    By default through ``uvicorn_nodelay.py``, which gives the connections TCP_NODELAY (see there);
    ``as_shipped`` runs ``uvicorn --workers N`` itself.
    """

    name = "uvicorn"

    def __init__(
        self,
        bench_dir: Path,
        workers: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        *,
        as_shipped: bool = False,
    ) -> None:
        super().__init__(log_path, workers, env)
        self.loop, self.http = uvicorn_loop_and_http()
        options = [
            "--app-dir",
            str(bench_dir),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--loop",
            self.loop,
            "--http",
            self.http,
        ]
        if as_shipped:
            self.command = [
                sys.executable,
                "-m",
                "uvicorn",
                "project.asgi:application",
                *options,
                "--log-level",
                "warning",
                "--no-access-log",
            ]
        else:
            launcher = Path(__file__).resolve().with_name("uvicorn_nodelay.py")
            self.command = [sys.executable, str(launcher), "project.asgi:application", *options]
        self.description = (
            f"uvicorn {version('uvicorn')} --workers {workers} --loop {self.loop} --http {self.http}"
            + (" (as shipped)" if as_shipped else " (through harness/uvicorn_nodelay.py: TCP_NODELAY on)")
        )

    def _is_worker(self, pid: int) -> bool:
        # The supervisor's children are its workers and multiprocessing's resource tracker.
        return "resource_tracker" not in _cmdline(pid)


@dataclass(frozen=True)
class WorkerStats:
    pid: int
    rss_kb: int  # VmRSS: resident now
    hwm_kb: int  # VmHWM: the most it has been resident
    cpu_s: float  # user + system time so far


def worker_stats(pid: int) -> WorkerStats | None:
    """``pid``'s VmRSS and VmHWM (/proc/<pid>/status) and CPU time (/proc/<pid>/stat); None if gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    after_command = stat.rsplit(")", 1)[1].split()
    ticks = int(after_command[11]) + int(after_command[12])  # utime, stime
    return WorkerStats(
        pid=pid,
        rss_kb=int(fields["VmRSS"].split()[0]),
        hwm_kb=int(fields["VmHWM"].split()[0]),
        cpu_s=ticks / os.sysconf("SC_CLK_TCK"),
    )


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _children(parent: int) -> list[int]:
    # Fields after the command (which may hold spaces and parentheses): state, ppid, ...
    return [
        int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _parent_of(int(entry)) == parent
    ]


def _established_socket_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_address, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local_address.rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                inodes.add(inode)
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes
