"""gunicorn serving the bench project on 127.0.0.1, and how it spread the client's connections.

gunicorn's workers race to accept connections. With a handful of keep-alive connections opened at
once (what wrk does), about one run in three ends with a single worker holding all of them: that run
is bound to one core and measures half the req/s, whichever variant it was; an uneven spread such as
6 + 2 also caps the variants whose requests hold a thread while they wait (Bolt's 10 ms polling).
The load part therefore looks (through /proc, Linux only) at which worker holds which connection, and
starts a run again until every worker holds enough to keep all its threads busy.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class GunicornServer:
    """A gunicorn process (gthread workers) for the duration of a ``with`` block."""

    def __init__(self, bench_dir: Path, workers: int, threads: int, log_path: Path) -> None:
        self.port = _free_port()
        self.log_path = log_path
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
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def __enter__(self) -> GunicornServer:
        # Forced, like in run.py: the caller's environment may name another settings module.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_ready(timeout_s=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
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
        raise RuntimeError(f"gunicorn did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM to the arbiter (our own child, by pid) is gunicorn's graceful shutdown.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def connections_per_worker(self) -> list[int] | None:
        """How many established client connections each worker holds, or None where /proc can't tell."""
        if self.process is None or not Path("/proc/net/tcp").exists():
            return None
        established = _established_socket_inodes(self.port)
        workers = _children(self.process.pid)
        if not workers:
            return None
        return sorted((len(_socket_inodes(pid) & established) for pid in workers), reverse=True)


def _children(parent: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces and parentheses): state, ppid, ...
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry))
    return children


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
