"""``make demo`` end to end: example/run_demo.py runs as a subprocess (fake Slack, real gunicorn) and its
transcript is checked; broken copies of the example must make it fail, and no gunicorn may outlive it.

A subprocess, because the demo is its own Django project: this suite's settings (tests.settings) are
already loaded in the test process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("gunicorn", reason="the demo serves the example project with gunicorn")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
RUN_DEMO = EXAMPLE / "run_demo.py"
if not RUN_DEMO.exists():  # e.g. tests run from the sdist, which ships tests/ but not example/
    pytest.skip(f"no {RUN_DEMO}", allow_module_level=True)
# The demo takes 3-5 s; this only stops a hung one.
DEMO_TIMEOUT = 60

USER = "<@U00000001>"


def gunicorn_of(transcript: str) -> tuple[int, int]:
    """The gunicorn master's pid (its process group) and port, as the transcript gives them."""
    found = re.search(r"^ +gunicorn +http://127\.0\.0\.1:(\d+) +pid (\d+) ", transcript, re.MULTILINE)
    assert found, f"no gunicorn line in the transcript:\n{transcript}"
    return int(found[2]), int(found[1])


def live_processes(pgid: int, port: int) -> list[str]:
    """Processes (not zombies) in the process group ``pgid`` or with ``127.0.0.1:port`` in their command."""
    needle = f"127.0.0.1:{port}"
    found = []
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # gone meanwhile
                continue
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
            if state != "Z" and (int(group) == pgid or needle in command):
                found.append(f"{entry.name} {state} {command}")
        return found
    listing = subprocess.run(
        ["ps", "-A", "-o", "pid=,pgid=,stat=,command="], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        pid, group, state, command = [*line.split(None, 3), ""][:4]
        if not state.startswith("Z") and (int(group) == pgid or needle in command):
            found.append(f"{pid} {state} {command}")
    return found


def assert_no_gunicorn_left(transcript: str) -> None:
    pgid, port = gunicorn_of(transcript)
    deadline = time.monotonic() + 5  # the demo waited for the master; give the kernel a moment
    while (left := live_processes(pgid, port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the demo's gunicorn survived it: {left}"


def kill_leftovers(partial_output: str | bytes | None) -> None:
    """After a hung demo was killed: its gunicorn group must not outlive the test either."""
    text = partial_output.decode() if isinstance(partial_output, bytes) else partial_output or ""
    found = re.search(r" pid (\d+) ", text)
    if found:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(found[1]), signal.SIGKILL)


def run_demo(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        kill_leftovers(hung.stdout)
        pytest.fail(f"the demo did not finish within {DEMO_TIMEOUT} s; its output:\n{hung.stdout!r}")


def one(pattern: str, transcript: str) -> re.Match[str]:
    found = re.search(pattern, transcript, re.MULTILINE)
    assert found, f"{pattern!r} is not in the transcript:\n{transcript}"
    return found


def test_demo_plays_every_step() -> None:
    done = run_demo(RUN_DEMO)
    out = done.stdout
    assert done.returncode == 0, f"exit status {done.returncode}\n{out}\n{done.stderr}"

    # 1. url_verification: the challenge comes back.
    challenge = one(r"type=url_verification  challenge=(\S+)$", out)[1]
    one(rf'^ +answer +200 in [\d.]+ ms  application/json  {{"challenge": "{re.escape(challenge)}"}}$', out)

    # 2. /hello: the ack text, then auth.test and the lazy listener's greeting with its button.
    one(rf'^ +ack +200 in [\d.]+ ms  text/plain  "Hi {USER}! Posting a greeting in this channel\.\.\."$', out)
    one(
        r"^ +to Slack +\+\d+ ms +auth\.test\n.*\n.*\n"
        r" +\+\d+ ms +chat\.postMessage  channel=C00000001\n"
        rf' +text="Hello, world! {USER} says hi from Django\."\n'
        r" +blocks: section, actions\[button wave_back=U00000001\]$",
        out,
    )

    # 3. app_mention: an empty ack, the reply in the mention's thread, the row in the database.
    ts = one(r"^ +channel=C00000001  user=U00000001  ts=(\d+\.\d+)$", out)[1]
    one(r"^ +ack +200 in [\d.]+ ms  \(empty body\)\n +\(Bolt acknowledges events", out)
    count = one(
        rf"chat\.postMessage  channel=C00000001  thread_ts={re.escape(ts)}\n"
        rf' +text="Noted, {USER}! That is mention #(\d+) in this channel\."$',
        out,
    )[1]
    one(rf"^ +database +Mention id=\d+  channel=C00000001  user=U00000001  ts={re.escape(ts)}$", out)
    one(r"""^ +text="what's for lunch\?"  created_at=""", out)
    # The transcript is not taken on trust: the row is in the demo's database.
    # closing(): sqlite3's own context manager ends the transaction, not the connection.
    with contextlib.closing(sqlite3.connect(EXAMPLE / "db.sqlite3")) as db:
        rows = db.execute("SELECT user, text FROM mentions_mention WHERE ts = ?", (ts,)).fetchall()
        in_channel = db.execute(
            "SELECT COUNT(*) FROM mentions_mention WHERE channel = 'C00000001'"
        ).fetchone()
    assert rows == [("U00000001", "what's for lunch?")]
    assert int(count) <= in_channel[0]

    # 4. The button: acknowledged, then the greeting replaced through the response URL.
    one(r"type=block_actions  action_id=wave_back\n +value=U00000001  message_ts=\d+\.\d+$", out)
    one(
        # "to Slack" labels the first call of a step: auth.test, when a worker's first request is this one.
        r"^(?: +to Slack)? +\+\d+ ms +POST response_url  replace_original=true\n"
        rf' +text=":wave: {USER} waved back at {USER}\."$',
        out,
    )

    # 5. A forged signature: refused, and the app never saw it.
    one(r'^ +answer +401 in [\d.]+ ms  application/json  \{"error": "invalid request"\}$', out)
    assert out.split("\n5. ")[1].count("to Slack    (no calls)") == 1

    # Each of the 2 workers checks the token once, on its first request (which may be all of them).
    auth_tests = out.count(" auth.test\n")
    assert 1 <= auth_tests <= 2
    one(r"^gunicorn \(pid \d+\) stopped, exit status 0\.$", out)
    # The auth.tests, the greeting, the reply to the mention, the response URL.
    assert out.endswith(f"the app made {auth_tests + 3} calls to Slack.\n")
    assert done.stderr == "", done.stderr
    assert_no_gunicorn_left(out)


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A copy of example/ (without its database) to break: run_demo.py serves the project next to it."""
    copy = tmp_path / "example"
    ignore = shutil.ignore_patterns("db.sqlite3*", "__pycache__", ".venv")
    shutil.copytree(EXAMPLE, copy, ignore=ignore)
    return copy


def sabotage(example: Path, old: str, new: str) -> None:
    slack_app = example / "demo_project" / "slack_app.py"
    source = slack_app.read_text()
    # If the listener changes, this test must change with it rather than pass without breaking anything.
    assert source.count(old) == 1, f"{old!r} is not (once) in {slack_app}"
    slack_app.write_text(source.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "step", "error"),
    [
        pytest.param(
            "lazy=[post_greeting]",
            "lazy=[]",
            2,
            "the app did not call chat.postMessage: Timed out after 1.0s waiting for 1 call(s) to "
            "chat.postMessage with {'channel': 'C00000001'}; got 0. Calls received: auth.test.",
            id="no-greeting",
        ),
        pytest.param(
            'thread_ts=event.get("thread_ts") or event["ts"],',
            "",
            3,
            "the app did not call chat.postMessage: Timed out after 1.0s waiting for 1 call(s) to "
            "chat.postMessage with {'channel': 'C00000001', 'thread_ts': '",
            id="reply-not-in-thread",
        ),
    ],
)
def test_demo_fails_when_the_app_misbehaves(
    example_copy: Path, old: str, new: str, step: int, error: str
) -> None:
    sabotage(example_copy, old, new)
    done = run_demo(example_copy / "run_demo.py", "--timeout", "1")
    assert done.returncode == 1, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    one(rf"^demo FAILED: step {step} \([^)]*\): {re.escape(error)}", done.stderr)
    assert "The end of gunicorn's log:" in done.stderr
    assert "every step did what it should" not in done.stdout
    one(r"^gunicorn \(pid \d+\) stopped, exit status 0\.$", done.stdout)
    assert_no_gunicorn_left(done.stdout)


def test_demo_stops_gunicorn_when_terminated(example_copy: Path) -> None:
    # Without the greeting the demo waits (up to --timeout) for it: a moment to send SIGTERM in.
    sabotage(example_copy, "lazy=[post_greeting]", "lazy=[]")
    demo = subprocess.Popen(
        [sys.executable, str(example_copy / "run_demo.py"), "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if line.lstrip().startswith("ack "):  # step 2's ack: now it waits for the greeting
                break
        else:
            pytest.fail("the demo ended before the /hello ack:\n" + "".join(lines))
        started = time.monotonic()
        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=DEMO_TIMEOUT)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
            kill_leftovers("".join(lines))
    transcript = "".join(lines) + out
    assert demo.returncode == 128 + signal.SIGTERM, f"{transcript}\n{err}"
    assert time.monotonic() - started < 15, "the demo waited out its timeout instead of stopping"
    assert err.strip() == "demo interrupted by SIGTERM", err
    one(r"^gunicorn \(pid \d+\) stopped, exit status 0\.$", transcript)
    assert_no_gunicorn_left(transcript)
