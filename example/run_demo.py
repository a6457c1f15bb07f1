#!/usr/bin/env python
"""``make demo``: play Slack against the example project served by a real gunicorn, and print what happens.

::

    this script  ---- signed requests, as Slack sends them ---->  gunicorn -> Django -> Bolt listeners
    FakeSlack    <--- Web API calls and response URL posts -----  (their client, say and respond)
    (in this script)

It starts a fake Slack Web API (``django_slack_bolt.testing.FakeSlack``), runs ``migrate`` (SQLite),
starts gunicorn with ``SLACK_API_URL`` pointing at the fake, sends the requests Slack would send (signed
with the test kit), and prints each request, the HTTP answer Slack would get (the ack), the Web API calls
the app made (waiting for those made in the background) and, for the mention, the row it stored.

Nothing leaves 127.0.0.1 and no Slack account is needed. Exit status 0 when every step did what it
should, 1 with the reason on stderr when one did not, 128+N when stopped by signal N. gunicorn and the
fake are stopped in every case.

    python example/run_demo.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

try:
    from django_slack_bolt.testing import (
        RESPONSE_URL_METHOD,
        FakeSlack,
        RecordedCall,
        SlackRequest,
        app_mention,
        block_action,
        event,
        slash_command,
        url_verification,
    )
except ImportError as error:  # pragma: no cover - a setup problem, said plainly
    sys.exit(f"run_demo: {error}. Install the package first: `make demo` does, or `pip install -e .`")

EXAMPLE_DIR = Path(__file__).resolve().parent
# Where demo_project.settings keeps the database, as the user would type it (example/db.sqlite3).
DATABASE = os.path.relpath(EXAMPLE_DIR / "db.sqlite3")
if DATABASE.startswith(".."):
    DATABASE = str(EXAMPLE_DIR / "db.sqlite3")
SETTINGS_MODULE = "demo_project.settings"
EVENTS_PATH = "/slack/events"
BOT_TOKEN = "xoxb-demo-not-a-real-token"
WORKERS = 2
THREADS = 4
LABEL_WIDTH = 12
WHEN_WIDTH = 9  # the "+12 ms" column of the Web API calls
VALUE_WIDTH = 72  # longer texts are cut in the transcript (never in the checks)
# Variables that would send the app's Web API calls (or ours) to a proxy instead of 127.0.0.1:
# slack_sdk reads them and ignores NO_PROXY.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class DemoFailure(Exception):
    """A step did not do what it should; the message says what happened instead."""


class Interrupted(BaseException):
    """Raised by the signal handler, so that every ``finally`` (stopping gunicorn) still runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --- the transcript ----------------------------------------------------------------------------------


def emit(text: str = "") -> None:
    print(text, flush=True)  # flushed: `make demo` shows each step as it happens


def row(label: str, *lines: str) -> None:
    """``label`` in the left column, ``lines`` aligned in the right one."""
    for index, line in enumerate(lines or ("",)):
        emit(f"   {label if index == 0 else '':<{LABEL_WIDTH}}{line}".rstrip())


def heading(number: int, title: str) -> None:
    emit()
    emit(f"{number}. {title}")


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    """``value`` as JSON (so strings are quoted and escapes visible), cut to ``width`` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


# --- talking to gunicorn -----------------------------------------------------------------------------

# Straight to 127.0.0.1, whatever proxy the environment configures.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    """gunicorn's answer to one request, as Slack would receive it."""

    status: int
    body: str
    content_type: str
    started: float  # time.time() when the request was sent, to place the Web API calls after it
    ms: float


def send(base_url: str, request: SlackRequest, path: str = EVENTS_PATH) -> Reply:
    http_request = urllib.request.Request(
        base_url + path,
        data=request.body.encode("utf-8"),
        method="POST",
        headers={"Content-Type": request.content_type, **request.headers},
    )
    started, clock = time.time(), time.perf_counter()
    try:
        with _opener.open(http_request, timeout=10) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:  # a 4xx/5xx is an answer too
        status, body, headers = error.code, error.read(), error.headers
    except OSError as error:
        raise DemoFailure(f"POST {path} to gunicorn failed: {error}") from error
    ms = (time.perf_counter() - clock) * 1000
    content_type = (headers.get("Content-Type") or "").split(";")[0]
    return Reply(status, body.decode("utf-8", "replace"), content_type, started, ms)


def show_answer(label: str, reply: Reply, note: str = "") -> None:
    if not reply.body:
        body = "(empty body)"
    elif reply.content_type == "application/json":
        body = f"{reply.content_type}  {reply.body if len(reply.body) <= VALUE_WIDTH else short(reply.body)}"
    else:
        body = f"{reply.content_type}  {short(reply.body)}"
    row(label, f"{reply.status} in {reply.ms:.1f} ms  {body}", *([note] if note else []))


# --- what the app sent to Slack ----------------------------------------------------------------------


class CallLog:
    """The calls FakeSlack recorded, step by step."""

    def __init__(self, fake: FakeSlack, timeout: float) -> None:
        self.fake = fake
        self.timeout = timeout
        self.seen = 0  # calls already shown

    def wait_for(self, method: str, **params: Any) -> RecordedCall:
        """The first call to ``method`` (with ``params``) not shown yet, waiting for it if need be.

        Listeners call Slack in their own threads, after the ack: the call may not have arrived yet.
        """
        shown = sum(1 for call in self.fake.calls[: self.seen] if call.matches(method, params))
        try:
            return self.fake.wait_for_call(method, params=params, count=shown + 1, timeout=self.timeout)
        except AssertionError as error:  # FakeSlack's message lists the calls it did get
            raise DemoFailure(f"the app did not call {method}: {error}") from error

    def new_calls(self) -> list[RecordedCall]:
        calls = self.fake.calls
        new, self.seen = calls[self.seen :], len(calls)
        return new

    def show(self, reply: Reply, settle: float = 0.0) -> list[RecordedCall]:
        """Print the calls made since the last step, placed in time relative to ``reply``'s request."""
        if settle:
            time.sleep(settle)  # to show that nothing else arrives, give it the time to arrive
        calls = self.new_calls()
        if not calls:
            row("to Slack", "(no calls)")
        for index, call in enumerate(calls):
            if call.token not in (None, BOT_TOKEN):
                raise DemoFailure(f"{call.method} was called with token {call.token!r}, not SLACK_BOT_TOKEN")
            offset = (call.time - reply.started) * 1000
            first, *more = describe(call)
            lines = [f"{f'+{offset:.0f} ms':<{WHEN_WIDTH}}{first}", *(f"{'':<{WHEN_WIDTH}}{x}" for x in more)]
            row("to Slack" if index == 0 else "", *lines)
        return calls


def describe(call: RecordedCall) -> list[str]:
    """The method and the parameters worth reading, one item per transcript line."""
    params = call.params
    if call.method == "auth.test":
        return [
            "auth.test",
            "Bolt's SingleTeamAuthorization checks the token on each worker's first",
            "request, since token_verification_enabled=False kept it out of import time",
        ]
    if call.method == RESPONSE_URL_METHOD:
        flags = "  ".join(f"{key}={json.dumps(params[key])}" for key in params if key != "text")
        return [f"POST response_url  {flags}".rstrip(), f"text={short(params.get('text', ''))}"]
    head = f"{call.method}  channel={params.get('channel')}"
    if "thread_ts" in params:
        head += f"  thread_ts={params['thread_ts']}"
    lines = [head, f"text={short(params.get('text', ''))}"]
    blocks = _blocks(params)
    if blocks:
        lines.append("blocks: " + ", ".join(_block_summary(block) for block in blocks))
    return lines


def _blocks(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):  # form-encoded calls send blocks as a JSON string
        blocks = json.loads(blocks)
    return [block for block in blocks if isinstance(block, dict)]


def _block_summary(block: Mapping[str, Any]) -> str:
    elements = [
        f"{element.get('type')} {element.get('action_id')}={element.get('value')}"
        for element in block.get("elements", [])
        if isinstance(element, dict)
    ]
    return f"{block.get('type')}[{', '.join(elements)}]" if elements else str(block.get("type"))


def _first_button(blocks: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    for block in blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("type") == "button":
                return block.get("block_id", ""), element
    return None


# --- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def migrate() -> str:
    """``manage.py migrate``, system checks included (they import the Slack app), in this process."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    output = io.StringIO()
    try:
        call_command("migrate", interactive=False, skip_checks=False, stdout=output, stderr=output)
    except CommandError as error:  # failed system checks (SystemCheckError) among them
        raise DemoFailure(f"manage.py migrate failed: {error}\n{output.getvalue()}") from error
    except Exception as error:  # the checks import the URLconf, so the Slack app: its errors land here
        raise DemoFailure(f"manage.py migrate failed: {type(error).__name__}: {error}") from error
    lines = output.getvalue().splitlines()
    applied = [line.split()[1] for line in lines if line.strip().startswith("Applying ")]
    return f"applied {', '.join(applied)}" if applied else "no migrations to apply"


def _gunicorn_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(part) for part in version("gunicorn").split(".")[:2] if part.isdigit())


class Gunicorn:
    """A gunicorn serving the demo project, in its own session so that it (and only it) can be stopped."""

    def __init__(self, port: int, env: Mapping[str, str], log: IO[bytes]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "demo_project.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "-k",
            "gthread",
            # Bounds how long stop() waits for a worker busy with a listener.
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
        ]
        if _gunicorn_version() >= (25, 1):
            # Otherwise gunicorn creates a control socket at one fixed path per user
            # ($HOME/.gunicorn/gunicorn.ctl), which concurrent demos or test runs would take from each other.
            self.argv.append("--no-control-socket")
        # Its own session: Ctrl-C reaches this script only, which then stops gunicorn in order, and the
        # process group (master and workers) can be checked and killed as a whole.
        self.process = subprocess.Popen(
            self.argv,
            cwd=EXAMPLE_DIR,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid
        self.started = time.perf_counter()

    def wait_until_ready(self, timeout: float) -> float:
        """Wait until a HEAD on the events URL is answered; the seconds since gunicorn was started."""
        deadline = time.perf_counter() + timeout
        while True:
            if self.process.poll() is not None:
                raise DemoFailure(f"gunicorn exited with status {self.process.returncode} while starting")
            try:
                with _opener.open(urllib.request.Request(self.url + EVENTS_PATH, method="HEAD"), timeout=2):
                    return time.perf_counter() - self.started
            except urllib.error.HTTPError as error:
                raise DemoFailure(f"gunicorn answered HEAD {EVENTS_PATH} with {error.code}") from error
            except OSError:
                if time.perf_counter() > deadline:
                    raise DemoFailure(f"gunicorn did not answer within {timeout:.0f} s") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> str:
        """SIGTERM (graceful), SIGKILL for the whole group if that is not enough; what happened."""
        outcome = "stopped"
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                outcome = f"killed (no exit {timeout:.0f} s after SIGTERM)"
        # Workers are gunicorn's children; none may outlive the demo, whatever happened to the master.
        for _ in range(100):
            try:
                os.killpg(self.pid, signal.SIGKILL if outcome != "stopped" else 0)
            except ProcessLookupError:
                break
            outcome = "killed (processes left after the master exited)"
            time.sleep(0.05)
        self.process.wait()
        return f"{outcome}, exit status {self.process.returncode}"

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])


class _Signals:
    """While ``deferring``, a signal is remembered and raised afterwards instead of at once."""

    deferring = False
    pending: int | None = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _Signals.deferring:
        _Signals.pending = _Signals.pending or signum
        return
    raise Interrupted(signum)


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`, so that cleanups run before the exit."""
    wanted = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {signum: signal.signal(signum, _on_signal) for signum in wanted}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold signals during a step that must complete (starting or stopping gunicorn), then raise."""
    outer = _Signals.deferring
    _Signals.deferring = True
    try:
        yield
    finally:
        _Signals.deferring = outer
        if not outer and _Signals.pending is not None:
            signum, _Signals.pending = _Signals.pending, None
            raise Interrupted(signum)


def mention_rows(ts: str) -> tuple[list[Any], int]:
    """The rows stored for the mention at ``ts``, and how many mentions the database holds."""
    from mentions.models import Mention

    return list(Mention.objects.filter(ts=ts)), Mention.objects.count()


def setup_django(env: Mapping[str, str]) -> None:
    """The demo project's Django in this process too: to migrate, and to read what the listeners stored."""
    import django

    os.environ.update(env)
    sys.path.insert(0, str(EXAMPLE_DIR))
    django.setup()


# --- the steps ---------------------------------------------------------------------------------------


@dataclass
class Demo:
    fake: FakeSlack
    gunicorn: Gunicorn
    signing_secret: str
    log: CallLog
    step: str = "setup"  # named in failure messages

    def heading(self, number: int, title: str) -> None:
        heading(number, title)
        self.step = f"step {number} ({title})"

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise DemoFailure(message)

    def expect_status(self, reply: Reply, status: int, what: str) -> None:
        self.check(
            reply.status == status, f"{what}: expected HTTP {status}, got {reply.status} {reply.body!r}"
        )

    def url_verification(self, number: int) -> None:
        self.heading(number, "Slack checks the Request URL (when you save it in the app's settings)")
        challenge = secrets.token_urlsafe(12)
        request = url_verification(challenge, signing_secret=self.signing_secret)
        row("request", f"POST {EVENTS_PATH}  JSON  type=url_verification  challenge={challenge}")
        reply = send(self.gunicorn.url, request)
        show_answer("answer", reply)
        self.expect_status(reply, 200, "url_verification")
        self.check(challenge in reply.body, f"the answer does not echo the challenge: {reply.body!r}")
        self.log.show(reply)

    def slash_command(self, number: int) -> RecordedCall:
        self.heading(number, "A user types /hello world in #general")
        request = slash_command(
            "/hello",
            "world",
            signing_secret=self.signing_secret,
            response_url=self.fake.response_url("commands/hello"),
        )
        form = request.payload
        row(
            "request",
            f"POST {EVENTS_PATH}  form  command={form['command']}  text={short(form['text'])}",
            f"user_id={form['user_id']}  channel_id={form['channel_id']}",
        )
        reply = send(self.gunicorn.url, request)
        show_answer("ack", reply, "(shown to the user only; Slack wants it within 3 s)")
        self.expect_status(reply, 200, "/hello")
        self.check(bool(reply.body), "/hello was acknowledged with an empty body, not the listener's text")
        greeting = self.log.wait_for("chat.postMessage", channel=form["channel_id"])
        calls = self.log.show(reply)
        self.check(
            any(call.method == "auth.test" for call in calls),
            "Bolt did not call auth.test on the first request it dispatched",
        )
        return greeting

    def app_mention(self, number: int) -> None:
        self.heading(number, "A user mentions the bot: @demo what's for lunch?")
        template = app_mention("what's for lunch?", signing_secret=None).payload["event"]
        # The kit's message timestamps are unique within one process only, and the database outlives this
        # run (or is shared with a concurrent one): a ts that another run already stored would look like
        # Slack retrying that event, which the app ignores. Slack's own format, to the microsecond:
        ts = f"{time.time():.6f}"
        request = event({**template, "ts": ts, "event_ts": ts}, signing_secret=self.signing_secret)
        sent = request.payload["event"]
        row(
            "request",
            f"POST {EVENTS_PATH}  JSON  event_callback  type={sent['type']}",
            f"channel={sent['channel']}  user={sent['user']}  ts={sent['ts']}",
            f"text={short(sent['text'])}",
        )
        reply = send(self.gunicorn.url, request)
        show_answer("ack", reply, "(Bolt acknowledges events before the listener runs)")
        self.expect_status(reply, 200, "app_mention")
        self.log.wait_for("chat.postMessage", channel=sent["channel"], thread_ts=sent["ts"])
        self.log.show(reply)
        rows, total = mention_rows(sent["ts"])
        self.check(len(rows) == 1, f"expected one Mention row with ts={sent['ts']}, found {len(rows)}")
        mention = rows[0]
        row(
            "database",
            f"Mention id={mention.pk}  channel={mention.channel}  user={mention.user}  ts={mention.ts}",
            f"text={short(mention.text)}  created_at={mention.created_at:%Y-%m-%d %H:%M:%S}",
            f"({total} mention(s) stored in {DATABASE} so far)",
        )

    def button_click(self, number: int, greeting: RecordedCall) -> None:
        self.heading(number, "The user clicks the greeting's button")
        blocks = _blocks(greeting.params)
        found = _first_button(blocks)
        self.check(found is not None, f"the greeting has no button to click; its blocks: {blocks}")
        assert found is not None  # for the type checker
        block_id, button = found
        posted = greeting.response.get("message", {})
        request = block_action(
            button["action_id"],
            button.get("value"),
            signing_secret=self.signing_secret,
            block_id=block_id,
            channel_id=greeting.params["channel"],
            response_url=self.fake.response_url("actions/wave"),
            # Click the message the app posted: Slack sends it along with the action.
            container={
                "type": "message",
                "message_ts": greeting.response.get("ts"),
                "channel_id": greeting.params["channel"],
                "is_ephemeral": False,
            },
            message=posted,
        )
        action = request.payload["actions"][0]
        row(
            "request",
            f"POST {EVENTS_PATH}  form payload  type=block_actions  action_id={action['action_id']}",
            f"value={action.get('value')}  message_ts={request.payload['container']['message_ts']}",
            f"response_url={request.payload['response_url']}",
        )
        reply = send(self.gunicorn.url, request)
        show_answer("ack", reply, "(an empty 200 is the ack; the listener goes on after it)")
        self.expect_status(reply, 200, "block action")
        self.log.wait_for(RESPONSE_URL_METHOD)
        self.log.show(reply)

    def forged_request(self, number: int) -> None:
        self.heading(number, "Someone else posts a command, signed with the wrong secret")
        request = slash_command("/hello", "it's me, Slack", signing_secret="not-" + self.signing_secret)
        signature = (request.signature or "")[:15]
        row("request", f"POST {EVENTS_PATH}  form  command=/hello  X-Slack-Signature={signature}...")
        reply = send(self.gunicorn.url, request)
        show_answer("answer", reply, "(refused by django_slack_bolt before the body is parsed)")
        self.expect_status(reply, 401, "the forged request")
        calls = self.log.show(reply, settle=0.2)
        self.check(not calls, f"the forged request reached the app: it called {[c.method for c in calls]}")


def run(timeout: float) -> None:
    if importlib.util.find_spec("gunicorn") is None:
        raise DemoFailure(f"gunicorn is not installed for {sys.executable}: pip install gunicorn")
    title = "django-slack-bolt demo: Slack (played by this script) -> gunicorn -> Django -> Bolt"
    emit(title)
    emit("=" * len(title))
    emit()
    fake = FakeSlack().start()
    try:
        serve_and_play(fake, timeout)
    finally:
        with deferred_signals():
            fake.stop()
        emit("fake Slack stopped.")
    emit(f"Done: every step did what it should; the app made {len(fake.calls)} calls to Slack.")


def serve_and_play(fake: FakeSlack, timeout: float) -> None:
    signing_secret = secrets.token_hex(16)  # any secret works, as long as both sides use it
    env = {
        **{key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES},
        # Set, not defaulted: an inherited DJANGO_SETTINGS_MODULE (a test run's) is not this project's.
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": fake.url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    row("fake Slack", f"{fake.url}  (SLACK_API_URL; records every call the app makes)")
    with (
        tempfile.TemporaryDirectory(prefix="django-slack-bolt-demo-") as tmp,
        open(Path(tmp) / "gunicorn.log", "w+b") as log,
    ):
        with deferred_signals():  # a Ctrl-C now must not leave a gunicorn nobody knows about
            gunicorn = Gunicorn(free_port(), env, log)
        failure: DemoFailure | None = None
        demo = Demo(fake, gunicorn, signing_secret, CallLog(fake, timeout))
        django_ready = False
        try:
            # Migrating while gunicorn boots saves a second; no request reaches the database before both.
            setup_django(env)
            django_ready = True
            row("database", f"{DATABASE}  (manage.py migrate: {migrate()})")
            ready = gunicorn.wait_until_ready(timeout=30)
            row(
                "gunicorn",
                f"{gunicorn.url}  pid {gunicorn.pid}  {WORKERS} workers x {THREADS} threads (gthread)",
                f"ready {ready:.2f} s after start; Request URL {gunicorn.url}{EVENTS_PATH}",
            )
            demo.url_verification(1)
            greeting = demo.slash_command(2)
            demo.app_mention(3)
            demo.button_click(4, greeting)
            demo.forged_request(5)
        except DemoFailure as error:
            failure = DemoFailure(f"{demo.step}: {error}")
        finally:
            if django_ready:
                from django.db import connections

                connections.close_all()  # ours, to the same SQLite file
            with deferred_signals():
                outcome = gunicorn.stop()
            emit()
            emit(f"gunicorn (pid {gunicorn.pid}) {outcome}.")
        if failure is not None:
            raise DemoFailure(f"{failure}\n\nThe end of gunicorn's log:\n{gunicorn.log_tail()}") from failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds to wait for each Web API call the app makes in the background (default: 5)",
    )
    args = parser.parse_args(argv)
    try:
        with signals_raise():
            run(args.timeout)
    except DemoFailure as failure:
        print(f"\ndemo FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    except Interrupted as interrupted:
        print(f"\ndemo interrupted by {interrupted}", file=sys.stderr, flush=True)
        return 128 + interrupted.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
