"""``make demo`` and ``make demo-async`` end to end: example/run_demo.py runs as a subprocess (fake Slack,
real gunicorn; with ``--async``, the async app under a real uvicorn) and its transcript is checked (two
workspaces installed over OAuth, each answered with its own token, one uninstalled), then its database;
broken copies of the example must make it fail, and no server process may outlive it.

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
from importlib.util import find_spec
from pathlib import Path

import pytest

pytest.importorskip("gunicorn", reason="the demo serves the example project with gunicorn")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
RUN_DEMO = EXAMPLE / "run_demo.py"
if not RUN_DEMO.exists():  # e.g. tests run from the sdist, which ships tests/ but not example/
    pytest.skip(f"no {RUN_DEMO}", allow_module_level=True)
# The demo takes 2-5 s; this only stops a hung one.
DEMO_TIMEOUT = 60

# The two demos: run_demo.py's arguments and the server each starts. The async one serves
# example/demo_project/async_slack_app.py (an AsyncApp) under uvicorn, and needs aiohttp for the AsyncApp.
NEEDS_ASYNC = pytest.mark.skipif(
    find_spec("uvicorn") is None or find_spec("aiohttp") is None,
    reason="the async demo serves the example project with uvicorn, and its AsyncApp needs aiohttp",
)
DEMOS = pytest.mark.parametrize(
    ("demo_args", "server", "app_module"),
    [
        pytest.param((), "gunicorn", "slack_app.py", id="sync"),
        pytest.param(("--async",), "uvicorn", "async_slack_app.py", id="async", marks=NEEDS_ASYNC),
    ],
)

# The demo's two workspaces: (name, team id, user, bot user, channel), as example/run_demo.py makes them.
ACME = ("Acme", "T0000ACME", "U0ACME001", "U0ACMEBOT", "C0ACME001")
BETA = ("Beta", "T0000BETA", "U0BETA001", "U0BETABOT", "C0BETA001")


def server_of(transcript: str) -> tuple[int, int]:
    """The server's pid (gunicorn's master: its process group) and port, as the transcript gives them."""
    found = re.search(
        r"^ +(?:gunicorn|uvicorn) +http://127\.0\.0\.1:(\d+) +pid (\d+) ", transcript, re.MULTILINE
    )
    assert found, f"no server line in the transcript:\n{transcript}"
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


def assert_no_server_left(transcript: str) -> None:
    pgid, port = server_of(transcript)
    deadline = time.monotonic() + 5  # the demo waited for the server process; give the kernel a moment
    while (left := live_processes(pgid, port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the demo's server survived it: {left}"


def kill_leftovers(partial_output: str | bytes | None) -> None:
    """After a hung demo was killed: its server's process group must not outlive the test either."""
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


def step(transcript: str, number: int) -> str:
    """The lines of step ``number`` of the transcript (up to the next step or the end)."""
    found = re.search(rf"^{number}\. .*?(?=^\d+\. |^   tokens |\Z)", transcript, re.MULTILINE | re.DOTALL)
    assert found, f"no step {number} in the transcript:\n{transcript}"
    return found.group(0)


@DEMOS
def test_demo_plays_every_step(
    tmp_path: Path, demo_args: tuple[str, ...], server: str, app_module: str
) -> None:
    database = tmp_path / "demo.sqlite3"
    done = run_demo(RUN_DEMO, *demo_args, "--database", str(database))
    out = done.stdout
    assert done.returncode == 0, f"exit status {done.returncode}\n{out}\n{done.stderr}"
    one(rf"^django-slack-bolt demo: Slack \(played by this script\) -> {server} -> Django -> Bolt$", out)
    one(rf"^   {server:<12}http://127\.0\.0\.1:\d+  pid \d+  ", out)

    # 1. url_verification: the challenge comes back.
    challenge = one(r"type=url_verification  challenge=(\S+)$", out)[1]
    one(rf'^ +answer +200 in [\d.]+ ms  application/json  {{"challenge": "{re.escape(challenge)}"}}$', out)

    # 2, 3. Each workspace installs the app through the OAuth round trip, over HTTP.
    for number, (name, team, user, bot_user, _) in ((2, ACME), (3, BETA)):
        install = step(out, number)
        one(r"^ +browser +GET /slack/install$", install)
        one(r"^ +answer +200 in [\d.]+ ms  text/html  <title>Add the app to Slack</title>$", install)
        one(
            r"^ +Set-Cookie: slack-app-oauth-state=\S+\.\.\.; HttpOnly; Max-Age=600; Path=/; Secure$", install
        )
        one(r"^ +state=\S+  client_id=\d+\.\d+  scope=commands,app_mentions:read,chat:write$", install)
        one(rf'^ +browser +GET the "Add to Slack" link &team={team}$', install)
        one(r"^ +answer +302  Location: /slack/oauth_redirect\?code=\S+&state=\S+$", install)
        one(r"^ +Cookie: slack-app-oauth-state=\S+$", install)
        one(r"^ +answer +200 in [\d.]+ ms  text/html  <title>Installed</title>$", install)
        one(rf"^ +<h1>The app is installed</h1>  <p>It was added to the {name} workspace\.</p>$", install)
        one(
            r"^ +to Slack +\+\d+ ms +oauth\.v2\.access  code=\S+  \(client id and secret checked\)\n"
            rf" +answer: team={team} \({name}\)  bot_user_id={bot_user}  access_token=xoxb-\.\.\.\n"
            r" +\+\d+ ms +auth\.test  \(Bolt's OAuth flow asks who the new bot is, once per installation\)\n"
            rf" +token=xoxb-\.\.\. \({name}'s bot token, {team}, active\)$",
            install,
        )
        one(rf"^ +database +SlackInstallation team_id={team}  team_name={name}  user_id={user}$", install)
        one(r"^ +bot_token column: gAAAAA\S*\.\.\. \(Fernet ciphertext, \d+ characters\);$", install)
        one(rf"^ +the store decrypts it to xoxb-\.\.\. \({name}'s bot token, {team}, active\)$", install)

    # 4-9. In each workspace, /hello, a mention and the button, answered with that workspace's token.
    for first, (name, team, user, bot_user, channel) in ((4, ACME), (7, BETA)):
        token = rf"token=xoxb-\.\.\. \({name}'s bot token, {team}, active\)"
        hello, mention, click = step(out, first), step(out, first + 1), step(out, first + 2)
        one(rf"^ +team_id={team}  user_id={user}  channel_id={channel}$", hello)
        one(
            rf"^ +ack +200 in [\d.]+ ms  text/plain  "
            rf'"Hi <@{user}>! Posting a greeting in this channel\.\.\."$',
            hello,
        )
        one(
            rf"^ +to Slack +\+\d+ ms +chat\.postMessage  channel={channel}\n"
            rf' +text="Hello, world! <@{user}> says hi from Django\."\n'
            rf" +blocks: section, actions\[button wave_back={user}\]\n"
            rf" +{token}$",
            hello,
        )

        one(
            rf"^ +request +POST /slack/events  JSON  event_callback  type=app_mention  team_id={team}$",
            mention,
        )
        ts = one(rf"^ +channel={channel}  user={user}  ts=(\d+\.\d+)$", mention)[1]
        one(rf"""^ +text="<@{bot_user}> what's for lunch\?"$""", mention)
        one(r"^ +ack +200 in [\d.]+ ms  \(empty body\)\n +\(Bolt acknowledges events", mention)
        one(
            rf"chat\.postMessage  channel={channel}  thread_ts={re.escape(ts)}\n"
            rf' +text="Noted, <@{user}>! That is mention #1 in this channel\."\n'
            rf" +{token}$",
            mention,
        )
        one(rf"^ +database +Mention id=\d+  team_id={team}  channel={channel}$", mention)
        one(rf"""^ +user={user}  ts={re.escape(ts)}  text="what's for lunch\?"$""", mention)

        one(
            rf"type=block_actions  action_id=wave_back\n +team={team}  value={user}  message_ts=\d+\.\d+$",
            click,
        )
        one(
            r"^ +to Slack +\+\d+ ms +POST response_url  replace_original=true\n"
            rf' +text=":wave: <@{user}> waved back at <@{user}>\."$',
            click,
        )

    # 10. A forged signature: refused, and the app never saw it.
    forged = step(out, 10)
    one(r'^ +answer +401 in [\d.]+ ms  application/json  \{"error": "invalid request"\}$', forged)
    one(r"^ +to Slack +\(no calls\)$", forged)

    # 11. Acme uninstalls: its rows go, Beta's stay; a command from Acme finds no installation.
    uninstall = step(out, 11)
    one(r"type=app_uninstalled  team_id=T0000ACME\n +ack +200 in [\d.]+ ms  \(empty body\)$", uninstall)
    one(r"^ +database +Acme: 0 installation rows, 0 bot rows \(were 1 and 1\): deleted$", uninstall)
    one(r"^ +Beta: 1 installation row, 1 bot row: untouched$", uninstall)
    one(r'^ +to Slack +\+\d+ ms +POST response_url\n +text=":warning: We apologize', uninstall)

    # Each workspace's calls carried its own bot token; auth.test only at install time.
    one(r"^ +tokens +Acme \(T0000ACME\): 1 auth\.test, 2 chat\.postMessage, all with Acme's bot token$", out)
    one(r"^ +Beta \(T0000BETA\): 1 auth\.test, 2 chat\.postMessage, all with Beta's bot token$", out)
    assert out.count(" auth.test  (") == 2
    one(rf"^{server} \(pid \d+\) stopped, exit status 0\.$", out)
    # 2 oauth.v2.access and 2 auth.test, 4 chat.postMessage, 3 posts to response URLs.
    assert out.endswith("the app made 11 calls to Slack.\n")
    # No token, code or state is printed whole.
    assert not re.search(r"xox[a-z]-[^.]", out), out
    assert done.stderr == "", done.stderr
    assert_no_server_left(out)

    # The transcript is not taken on trust: the database says the same.
    # closing(): sqlite3's own context manager ends the transaction, not the connection.
    with contextlib.closing(sqlite3.connect(database)) as db:
        mentions = db.execute(
            "SELECT team_id, channel, user, text FROM mentions_mention ORDER BY id"
        ).fetchall()
        installations = db.execute(
            "SELECT team_id, team_name, bot_user_id, bot_token FROM django_slack_bolt_slackinstallation"
        ).fetchall()
        bots = db.execute("SELECT team_id FROM django_slack_bolt_slackbot").fetchall()
    assert mentions == [
        ("T0000ACME", "C0ACME001", "U0ACME001", "what's for lunch?"),
        ("T0000BETA", "C0BETA001", "U0BETA001", "what's for lunch?"),
    ]
    assert [row[:3] for row in installations] == [("T0000BETA", "Beta", "U0BETABOT")]
    assert bots == [("T0000BETA",)]
    assert installations[0][3].startswith("gAAAAA")  # Fernet
    # Tokens are encrypted at rest: no table (installations, bots, cache, states) holds one in clear.
    raw = database.read_bytes()
    assert b"xoxb-" not in raw
    assert b"xoxp-" not in raw


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A copy of example/ (without its database) to break: run_demo.py serves the project next to it."""
    copy = tmp_path / "example"
    ignore = shutil.ignore_patterns("*.sqlite3*", "__pycache__", ".venv", ".mypy_cache")
    shutil.copytree(EXAMPLE, copy, ignore=ignore)
    return copy


def sabotage(example: Path, old: str, new: str, module: str = "slack_app.py") -> None:
    """Replace ``old`` by ``new`` in ``example/demo_project/<module>``."""
    source_file = example / "demo_project" / module
    source = source_file.read_text()
    # If the example changes, this test must change with it rather than pass without breaking anything.
    assert source.count(old) == 1, f"{old!r} is not (once) in {source_file}"
    source_file.write_text(source.replace(old, new))


NO_GREETING = (
    "the app did not call chat.postMessage: Timed out after 1.0s waiting for 1 call(s) to "
    "chat.postMessage with {'channel': 'C0ACME001'}; got 0."
)
MENTION_WITHOUT_WORKSPACE = "the mention was stored for team '', not T0000ACME"


@pytest.mark.parametrize(
    ("demo_args", "server", "module", "old", "new", "step", "error"),
    [
        pytest.param(
            (),
            "gunicorn",
            "slack_app.py",
            "lazy=[post_greeting]",
            "lazy=[]",
            4,
            NO_GREETING,
            id="no-greeting",
        ),
        pytest.param(
            (),
            "gunicorn",
            "slack_app.py",
            'thread_ts=event.get("thread_ts") or event["ts"],',
            "",
            5,
            "the app did not call chat.postMessage: Timed out after 1.0s waiting for 1 call(s) to "
            "chat.postMessage with {'channel': 'C0ACME001', 'thread_ts': '",
            id="reply-not-in-thread",
        ),
        pytest.param(
            (),
            "gunicorn",
            "slack_app.py",
            '"team_id": context.team_id or ""',
            '"team_id": ""',
            5,
            MENTION_WITHOUT_WORKSPACE,
            id="mention-without-workspace",
        ),
        pytest.param(
            # The install page would send the browser to the real Slack: the demo stops there, offline.
            (),
            "gunicorn",
            "settings.py",
            '"AUTHORIZATION_URL": env_str("SLACK_AUTHORIZATION_URL"),',
            '"AUTHORIZATION_URL": None,',
            2,
            '"Add to Slack" links to \'https://slack.com/oauth/v2/authorize?state=',
            id="install-link-to-the-real-slack",
        ),
        # The async app's own listeners: its lazy listener, and its mention stored with the async ORM.
        pytest.param(
            ("--async",),
            "uvicorn",
            "async_slack_app.py",
            "lazy=[post_greeting]",
            "lazy=[]",
            4,
            NO_GREETING,
            id="async-no-greeting",
            marks=NEEDS_ASYNC,
        ),
        pytest.param(
            ("--async",),
            "uvicorn",
            "async_slack_app.py",
            '"team_id": context.team_id or ""',
            '"team_id": ""',
            5,
            MENTION_WITHOUT_WORKSPACE,
            id="async-mention-without-workspace",
            marks=NEEDS_ASYNC,
        ),
    ],
)
def test_demo_fails_when_the_app_misbehaves(
    example_copy: Path,
    demo_args: tuple[str, ...],
    server: str,
    module: str,
    old: str,
    new: str,
    step: int,
    error: str,
) -> None:
    sabotage(example_copy, old, new, module)
    done = run_demo(example_copy / "run_demo.py", *demo_args, "--timeout", "1")
    assert done.returncode == 1, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    one(rf"^demo FAILED: step {step} \([^)]*\): {re.escape(error)}", done.stderr)
    assert f"The end of {server}'s log:" in done.stderr
    assert "every step did what it should" not in done.stdout
    one(rf"^{server} \(pid \d+\) stopped, exit status 0\.$", done.stdout)
    assert_no_server_left(done.stdout)


@DEMOS
def test_demo_stops_the_server_when_terminated(
    example_copy: Path, demo_args: tuple[str, ...], server: str, app_module: str
) -> None:
    # Without the greeting the demo waits (up to --timeout) for it: a moment to send SIGTERM in.
    sabotage(example_copy, "lazy=[post_greeting]", "lazy=[]", app_module)
    demo = subprocess.Popen(
        [sys.executable, str(example_copy / "run_demo.py"), *demo_args, "--timeout", "30"],
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
            if line.lstrip().startswith("ack "):  # step 4's ack: now it waits for the greeting
                break
        else:
            _, err = demo.communicate(timeout=DEMO_TIMEOUT)
            pytest.fail("the demo ended before the /hello ack:\n" + "".join(lines) + err)
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
    one(rf"^{server} \(pid \d+\) stopped, exit status 0\.$", transcript)
    assert_no_server_left(transcript)
