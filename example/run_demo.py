#!/usr/bin/env python
"""``make demo``: install the example app into two fake workspaces, play Slack against it, print what happens.

::

    this script  ---- browser: install page, OAuth callback ---->  gunicorn -> Django -> Bolt
                 ---- signed requests, as Slack sends them ----->  (build_app(): OAuth, ORM stores)
    FakeSlack    <--- oauth.v2.access, Web API calls, response URL posts ---  (its OAuth flow, listeners)
    (in this script: Slack's Web API and authorize page, two workspaces)

It starts a fake Slack (``django_slack_bolt.testing.FakeSlack``) with two workspaces, runs ``migrate``
on a new SQLite database, starts gunicorn with the Web API and authorize URLs pointing at the fake, and
then, as Slack and the installing users' browsers would:

* installs the app into each workspace through the real OAuth round trip over HTTP: the install page,
  the fake's authorize page (which redirects back with a code), the callback with the state cookie;
* sends each workspace's signed commands, events and button clicks, and shows that the app answered
  each with that workspace's own bot token (tokens are shown masked), and no ``auth.test`` per request;
* uninstalls the app from one workspace and shows that its rows are gone.

For each request it prints the HTTP answer (the ack), the calls the app made to Slack (waiting for those
made in the background) and what it stored. Nothing leaves 127.0.0.1 and no Slack account is needed.

``--async`` (``make demo-async``) plays the same steps, with the same checks, against the async variant
of the app: ``demo_project.async_slack_app`` (an ``AsyncApp`` from ``build_async_app()``, its listeners
``async def``, its mention stored with the async ORM) served by ``uvicorn demo_project.asgi:application``
(``DEMO_ASYNC=true`` selects them in the settings).

Exit status 0 when every step did what it should, 1 with the reason on stderr when one did not, 128+N
when stopped by signal N. The server and the fake are stopped in every case.

    python example/run_demo.py [--async] [--timeout SECONDS] [--database PATH]
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

try:
    from cryptography.fernet import Fernet

    from django_slack_bolt.testing import (
        AUTHORIZE_METHOD,
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
SETTINGS_MODULE = "demo_project.settings"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_COOKIE = "slack-app-oauth-state"  # Bolt's
WORKERS = 2
THREADS = 4
LABEL_WIDTH = 12
WHEN_WIDTH = 9  # the "+12 ms" column of the Web API calls
VALUE_WIDTH = 72  # longer texts are cut in the transcript (never in the checks)
# Variables that would send the app's Web API calls (or ours) to a proxy instead of 127.0.0.1:
# slack_sdk reads them and ignores NO_PROXY.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class Workspace:
    """A fake workspace the app is installed into: its ids, and the user who installs it and types."""

    team_id: str
    name: str
    user_id: str
    bot_user_id: str
    bot_id: str
    channel_id: str  # its #general


WORKSPACES = (
    Workspace(
        "T0000ACME", "Acme", "U0ACME001", bot_user_id="U0ACMEBOT", bot_id="B0ACMEBOT", channel_id="C0ACME001"
    ),
    Workspace(
        "T0000BETA", "Beta", "U0BETA001", bot_user_id="U0BETABOT", bot_id="B0BETABOT", channel_id="C0BETA001"
    ),
)


class DemoFailure(Exception):
    """A step did not do what it should; the message says what happened instead."""


class Interrupted(BaseException):
    """Raised by the signal handler, so that every ``finally`` (stopping the server) still runs."""

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


def masked(secret: str, keep: int = 0) -> str:
    """A token, code or state as the transcript shows it: its kind (``xoxb-``), or its first characters."""
    if keep:
        return secret[:keep] + "..."
    kind = re.match(r"[a-z.]+-", secret)
    return (kind.group(0) if kind else "") + "..."


# --- talking to the server -----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are steps of the demo: shown, then followed by hand (a 3xx surfaces as an HTTPError)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# Straight to 127.0.0.1, whatever proxy the environment configures.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class Reply:
    """An answer to one request, as Slack (or the browser) receives it."""

    status: int
    body: str
    headers: Message
    started: float  # time.time() when the request was sent, to place the Web API calls after it
    ms: float

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0]


def _exchange(request: urllib.request.Request, what: str) -> Reply:
    started, clock = time.time(), time.perf_counter()
    try:
        with _opener.open(request, timeout=10) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:  # a 3xx/4xx/5xx is an answer too
        status, body, headers = error.code, error.read(), error.headers
    except OSError as error:
        raise DemoFailure(f"{what} failed: {error}") from error
    ms = (time.perf_counter() - clock) * 1000
    return Reply(status, body.decode("utf-8", "replace"), headers, started, ms)


def send(base_url: str, request: SlackRequest, path: str = EVENTS_PATH) -> Reply:
    """POST ``request`` as Slack would."""
    http_request = urllib.request.Request(
        base_url + path,
        data=request.body.encode("utf-8"),
        method="POST",
        headers={"Content-Type": request.content_type, **request.headers},
    )
    return _exchange(http_request, f"POST {path} to the server")


def browse(url: str, cookie: str | None = None) -> Reply:
    """GET ``url`` as the installing user's browser would, with ``cookie``; redirects not followed."""
    headers = {"Accept": "text/html", "User-Agent": "run_demo (a browser, played)"}
    if cookie:
        headers["Cookie"] = cookie
    return _exchange(urllib.request.Request(url, headers=headers), f"GET {url}")


def show_answer(label: str, reply: Reply, note: str = "") -> None:
    if not reply.body:
        body = "(empty body)"
    elif reply.content_type == "application/json":
        body = f"{reply.content_type}  {reply.body if len(reply.body) <= VALUE_WIDTH else short(reply.body)}"
    else:
        body = f"{reply.content_type}  {short(reply.body)}"
    row(label, f"{reply.status} in {reply.ms:.1f} ms  {body}", *([note] if note else []))


def page_text(reply: Reply, tag: str) -> str:
    """The text of the first ``<tag>`` of an HTML page, markup stripped and whitespace collapsed."""
    found = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", reply.body, re.DOTALL | re.IGNORECASE)
    if found is None:
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def path_and_query(url: str, shown: Mapping[str, int] | None = None) -> str:
    """``url`` without scheme and host; the values of the query items named in ``shown`` cut short."""
    split = urlsplit(url)
    items = []
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        keep = (shown or {}).get(name)
        items.append(f"{name}={masked(value, keep) if keep else value}")
    return split.path + ("?" + "&".join(items) if items else "")


# --- what the app sent to Slack ----------------------------------------------------------------------


class CallLog:
    """The calls FakeSlack recorded from the app, step by step (the browser's visits left out)."""

    def __init__(self, fake: FakeSlack, timeout: float) -> None:
        self.fake = fake
        self.timeout = timeout
        self.seen = 0  # calls already shown (index into fake.calls)

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
        return [call for call in new if call.method != AUTHORIZE_METHOD]

    def show(
        self, reply: Reply, workspace: Workspace | None, settle: float = 0.0, *, installing: bool = False
    ) -> list[RecordedCall]:
        """Print the calls made since the last step, placed in time relative to ``reply``'s request.

        Every call made with a token must carry ``workspace``'s bot token; none may be ``auth.test``
        unless ``installing`` (Bolt's OAuth flow asks it once about the new token).
        """
        if settle:
            time.sleep(settle)  # to show that nothing else arrives, give it the time to arrive
        calls = self.new_calls()
        if not calls:
            row("to Slack", "(no calls)")
        for index, call in enumerate(calls):
            self.check_token(call, workspace, installing=installing)
            offset = (call.time - reply.started) * 1000
            first, *more = describe(self.fake, call)
            lines = [f"{f'+{offset:.0f} ms':<{WHEN_WIDTH}}{first}", *(f"{'':<{WHEN_WIDTH}}{x}" for x in more)]
            row("to Slack" if index == 0 else "", *lines)
        return calls

    def check_token(self, call: RecordedCall, workspace: Workspace | None, *, installing: bool) -> None:
        if call.method == "auth.test" and not installing:
            raise DemoFailure("the app called auth.test: the installation should have authorized the request")
        if call.token is None:
            return
        expected = self.fake.bot_token(workspace.team_id) if workspace is not None else None
        if call.token != expected:
            raise DemoFailure(
                f"{call.method} was called with {token_owner(self.fake, call.token)}, not with "
                + (f"{workspace.name}'s bot token" if workspace else "no token")
            )


def token_owner(fake: FakeSlack, token: str) -> str:
    """Whose ``token`` is, with the token masked: ``xoxb-... (Acme's bot token, T0000ACME)``."""
    info = fake.token_info(token)
    if info is None:
        return f"{masked(token)} (a token Slack never issued)"
    workspace = info.workspace
    return f"{masked(token)} ({workspace.team_name}'s {info.kind} token, {workspace.id}, {info.status})"


def describe(fake: FakeSlack, call: RecordedCall) -> list[str]:
    """The method and the parameters worth reading, one item per transcript line."""
    params = call.params
    if call.method == "oauth.v2.access":
        answer = call.response
        if not answer.get("ok"):
            return [
                f"oauth.v2.access  code={masked(str(params.get('code', '')), 8)}",
                f"answer: {short(answer)}",
            ]
        team = answer.get("team") or {}
        return [
            f"oauth.v2.access  code={masked(str(params.get('code', '')), 8)}  (client id and secret checked)",
            f"answer: team={team.get('id')} ({team.get('name')})  bot_user_id={answer.get('bot_user_id')}  "
            f"access_token={masked(str(answer.get('access_token')))}",
        ]
    if call.method == "auth.test":
        return [
            "auth.test  (Bolt's OAuth flow asks who the new bot is, once per installation)",
            f"token={token_owner(fake, call.token or '')}",
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
    if call.token is not None:
        lines.append(f"token={token_owner(fake, call.token)}")
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


def migrate() -> str:
    """``manage.py migrate`` (system checks included: they import the Slack app) and
    ``createcachetable``, in this process."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    output = io.StringIO()
    try:
        call_command("migrate", interactive=False, skip_checks=False, stdout=output, stderr=output)
        call_command("createcachetable", stdout=output, stderr=output)
    except CommandError as error:  # failed system checks (SystemCheckError) among them
        raise DemoFailure(f"manage.py migrate failed: {error}\n{output.getvalue()}") from error
    except Exception as error:  # the checks import the URLconf, so the Slack app: its errors land here
        raise DemoFailure(f"manage.py migrate failed: {type(error).__name__}: {error}") from error
    lines = output.getvalue().splitlines()
    applied = [line.split()[1].rstrip(".") for line in lines if line.strip().startswith("Applying ")]
    return f"applied {', '.join(applied)}" if applied else "no migrations to apply"


def _version(distribution: str) -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(part) for part in version(distribution).split(".")[:2] if part.isdigit())


class AppServer:
    """The server of the demo project, in its own session so that it (and only it) can be stopped.

    A subclass says which server it is: how to start it (on port 0: the system picks a free port, which
    the server logs; picking one here and passing it on would race with any other process picking ports
    meanwhile), where its log says the URL it listens at, and how it is told to stop.
    """

    name = ""
    listening = re.compile(rb"")  # group 1: the URL, in the server's log
    stop_signal = signal.SIGTERM

    def __init__(self, env: Mapping[str, str], log: IO[bytes]) -> None:
        self.url = ""  # known once the server listens: wait_until_ready()
        self.log = log
        self.argv = [sys.executable, "-m", *self.arguments()]
        # Its own session: Ctrl-C reaches this script only, which then stops the server in order, and its
        # process group (gunicorn's master and workers) can be checked and killed as a whole.
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

    def arguments(self) -> list[str]:
        """What follows ``python -m``."""
        raise NotImplementedError

    def describe(self) -> str:
        """How it serves the project, for the transcript: processes, threads, event loop."""
        raise NotImplementedError

    def wait_until_ready(self, timeout: float) -> float:
        """Wait until a HEAD on the events URL is answered; the seconds since the server was started."""
        deadline = time.perf_counter() + timeout
        while True:
            if self.process.poll() is not None:
                raise DemoFailure(f"{self.name} exited with status {self.process.returncode} while starting")
            if not self.url:
                listening = self.listening.search(Path(self.log.name).read_bytes())
                if listening is None:
                    if time.perf_counter() > deadline:
                        raise DemoFailure(f"{self.name} did not listen within {timeout:.0f} s") from None
                    time.sleep(0.02)
                    continue
                self.url = listening.group(1).decode("ascii")
            try:
                with _opener.open(urllib.request.Request(self.url + EVENTS_PATH, method="HEAD"), timeout=2):
                    return time.perf_counter() - self.started
            except urllib.error.HTTPError as error:
                raise DemoFailure(f"{self.name} answered HEAD {EVENTS_PATH} with {error.code}") from error
            except OSError:
                if time.perf_counter() > deadline:
                    raise DemoFailure(f"{self.name} did not answer within {timeout:.0f} s") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> str:
        """The stop signal (graceful), SIGKILL for the whole group if that is not enough; what happened."""
        outcome = "stopped"
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                outcome = f"killed (no exit {timeout:.0f} s after {self.stop_signal.name})"
        # No process of the server (gunicorn's workers are the master's children) may outlive the demo,
        # whatever happened to the one we started.
        for _ in range(100):
            try:
                os.killpg(self.pid, signal.SIGKILL if outcome != "stopped" else 0)
            except ProcessLookupError:
                break
            outcome = f"killed (processes left after the {self.name} process exited)"
            time.sleep(0.05)
        self.process.wait()
        return f"{outcome}, exit status {self.process.returncode}"

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])


class Gunicorn(AppServer):
    """gunicorn serving ``demo_project.wsgi``: the sync app, in threads of several worker processes."""

    name = "gunicorn"
    listening = re.compile(rb"Listening at: (http://127\.0\.0\.1:\d+) ")

    def arguments(self) -> list[str]:
        arguments = [
            "gunicorn",
            "demo_project.wsgi",
            "-b",
            "127.0.0.1:0",
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
        if _version("gunicorn") >= (25, 1):
            # Otherwise gunicorn creates a control socket at one fixed path per user
            # ($HOME/.gunicorn/gunicorn.ctl), which concurrent demos or test runs would take from each other.
            arguments.append("--no-control-socket")
        return arguments

    def describe(self) -> str:
        return f"{WORKERS} workers x {THREADS} threads (gthread)"


class Uvicorn(AppServer):
    """uvicorn serving ``demo_project.asgi``: the async app, in one process's asyncio event loop."""

    name = "uvicorn"
    listening = re.compile(rb"Uvicorn running on (http://127\.0\.0\.1:\d+) ")
    # What Ctrl-C sends: the same graceful shutdown as SIGTERM, and uvicorn then exits with status 0 (since
    # 0.29 it re-raises a SIGTERM it handled, and so dies of it).
    stop_signal = signal.SIGINT

    def arguments(self) -> list[str]:
        return [
            "uvicorn",
            "demo_project.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            # Django's ASGI handler does not speak the lifespan protocol: not asked, nothing logged.
            "--lifespan",
            "off",
            # Bounds how long stop() waits for requests still being answered.
            "--timeout-graceful-shutdown",
            "5",
        ]

    def describe(self) -> str:
        return "1 process, 1 asyncio event loop (ASGI)"


@dataclass(frozen=True)
class Variant:
    """The sync demo or the async one: which server serves which app."""

    server: type[AppServer]
    demo_async: bool  # DEMO_ASYNC: the settings then name the AsyncApp, and ASGI_APPLICATION
    builder: str  # the django_slack_bolt function that builds the app
    requires: tuple[str, ...]  # modules the server needs
    install_hint: str  # what installs them


# demo_project.slack_app (an App) under gunicorn; demo_project.async_slack_app (an AsyncApp) under uvicorn.
SYNC = Variant(Gunicorn, False, "build_app()", ("gunicorn",), "pip install gunicorn")
# aiohttp: what Bolt's async side and slack_sdk's AsyncWebClient run on (django-slack-bolt's `async` extra).
ASYNC = Variant(
    Uvicorn, True, "build_async_app()", ("uvicorn", "aiohttp"), "pip install -r example/requirements.txt"
)


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
    """Hold signals during a step that must complete (starting or stopping the server), then raise."""
    outer = _Signals.deferring
    _Signals.deferring = True
    try:
        yield
    finally:
        _Signals.deferring = outer
        if not outer and _Signals.pending is not None:
            signum, _Signals.pending = _Signals.pending, None
            raise Interrupted(signum)


def setup_django(env: Mapping[str, str]) -> None:
    """The demo project's Django in this process too: to migrate, and to read what the app stored."""
    import django

    os.environ.update(env)
    sys.dont_write_bytecode = True  # the server neither (PYTHONDONTWRITEBYTECODE): no __pycache__ in example/
    sys.path.insert(0, str(EXAMPLE_DIR))
    django.setup()


# --- reading the database (the demo project's models, in this process) -------------------------------


def mention_rows(ts: str) -> tuple[list[Any], int]:
    """The rows stored for the mention at ``ts``, and how many mentions the database holds."""
    from mentions.models import Mention

    return list(Mention.objects.filter(ts=ts)), Mention.objects.count()


def row_counts(team_id: str) -> tuple[int, int]:
    """How many installation and bot rows the app keeps for the workspace."""
    from django_slack_bolt.models import SlackBot, SlackInstallation

    return (
        SlackInstallation.objects.filter(team_id=team_id).count(),
        SlackBot.objects.filter(team_id=team_id).count(),
    )


def rows(installations: int, bots: int) -> str:
    """``1 installation row, 0 bot rows``."""
    return f"{plural(installations, 'installation row')}, {plural(bots, 'bot row')}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def stored_bot_token_column(team_id: str) -> str:
    """The bot token of the workspace's installation row as the database holds it (ciphertext)."""
    from django.db import connection

    from django_slack_bolt.models import SlackInstallation

    table = connection.ops.quote_name(SlackInstallation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT bot_token FROM {table} WHERE team_id = %s", [team_id])
        found = cursor.fetchone()
    return str(found[0]) if found else ""


def find_installation(team_id: str) -> Any:
    """The workspace's installation as the app's store reads it (tokens decrypted)."""
    from django.conf import settings

    from django_slack_bolt import DjangoInstallationStore

    store = DjangoInstallationStore(settings.SLACK_BOLT["CLIENT_ID"])
    return store.find_installation(enterprise_id=None, team_id=team_id)


# --- the steps ---------------------------------------------------------------------------------------


@dataclass
class Demo:
    fake: FakeSlack
    server: AppServer
    variant: Variant
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
        body = reply.body
        if reply.content_type == "text/html":  # a page: what it says, not its markup
            body = f"{page_text(reply, 'title')}: {page_text(reply, 'p')}"
        self.check(reply.status == status, f"{what}: expected HTTP {status}, got {reply.status} {body!r}")

    def url_verification(self, number: int) -> None:
        self.heading(number, "Slack checks the Request URL (when you save it in the app's settings)")
        challenge = secrets.token_urlsafe(12)
        request = url_verification(challenge, signing_secret=self.signing_secret)
        row("request", f"POST {EVENTS_PATH}  JSON  type=url_verification  challenge={challenge}")
        reply = send(self.server.url, request)
        show_answer("answer", reply)
        self.expect_status(reply, 200, "url_verification")
        self.check(challenge in reply.body, f"the answer does not echo the challenge: {reply.body!r}")
        self.log.show(reply, None)

    def install(self, number: int, workspace: Workspace) -> None:
        self.heading(number, f"A user of {workspace.name} installs the app: install page, Slack, callback")
        # The install page: a one-time state, in the link and in a cookie for this browser.
        page = browse(self.server.url + INSTALL_PATH)
        row("browser", f"GET {INSTALL_PATH}")
        self.expect_status(page, 200, "the install page")
        cookies = page.headers.get_all("Set-Cookie") or []
        state_cookie = next((c for c in cookies if c.startswith(STATE_COOKIE + "=")), "")
        state = state_cookie.split(";", 1)[0].split("=", 1)[1] if state_cookie else ""
        self.check(bool(state), f"the install page set no {STATE_COOKIE} cookie; it set {cookies}")
        link = re.search(r'<a class="button" href="([^"]+)">', page.body)
        self.check(link is not None, f'the install page has no "Add to Slack" button:\n{page.body}')
        assert link is not None  # for the type checker
        authorize_url = html.unescape(link.group(1))
        self.check(
            authorize_url.startswith(self.fake.authorize_url) and f"state={state}" in authorize_url,
            f'"Add to Slack" links to {authorize_url!r}, not to the authorize page with the state',
        )
        # Django writes an expires= next to Max-Age=; the flags are what matters here.
        flags = [part.strip() for part in state_cookie.split(";")[1:]]
        link_query = "  ".join(
            f"{name}={masked(value, 8) if name == 'state' else value}"
            for name, value in parse_qsl(urlsplit(authorize_url).query)
            if value
        )
        title = page_text(page, "title")
        row(
            "answer",
            f"{page.status} in {page.ms:.1f} ms  {page.content_type}  <title>{title}</title>",
            f"Set-Cookie: {STATE_COOKIE}={masked(state, 8)}; "
            + "; ".join(flag for flag in flags if not flag.lower().startswith("expires=")),
            f'"Add to Slack" -> {authorize_url.split("?")[0]}',
            f"  {link_query}",
        )

        # Slack's authorize page: the user picks the workspace and clicks Allow; Slack sends them back.
        at_slack = browse(f"{authorize_url}&team={workspace.team_id}")
        row(
            "browser",
            f'GET the "Add to Slack" link &team={workspace.team_id}',
            f"(at Slack: the user chooses {workspace.name} and clicks Allow)",
        )
        self.expect_status(at_slack, 302, "Slack's authorize page")
        location = at_slack.headers.get("Location", "")
        query = dict(parse_qsl(urlsplit(location).query))
        self.check(
            location.startswith(self.server.url + REDIRECT_PATH) and query.get("state") == state,
            f"the authorize page redirected to {location!r}, not to the app's redirect URL with the state",
        )
        row("answer", f"302  Location: {path_and_query(location, {'code': 8, 'state': 8})}")

        # The callback: the state is checked against the cookie, the code exchanged for the tokens.
        callback = browse(location, cookie=f"{STATE_COOKIE}={state}")
        row(
            "browser",
            f"GET {path_and_query(location, {'code': 8, 'state': 8})}",
            f"Cookie: {STATE_COOKIE}={masked(state, 8)}",
        )
        self.expect_status(callback, 200, "the OAuth callback")
        title, paragraph = page_text(callback, "title"), page_text(callback, "p")
        row(
            "answer",
            f"{callback.status} in {callback.ms:.1f} ms  {callback.content_type}  <title>{title}</title>",
            f"<h1>{page_text(callback, 'h1')}</h1>  <p>{paragraph}</p>",
        )
        self.check(
            f"the {workspace.name} workspace" in paragraph,
            f"the success page does not name the {workspace.name} workspace: {paragraph!r}",
        )
        self.log.wait_for("oauth.v2.access")
        self.log.show(callback, workspace, installing=True)

        installation = find_installation(workspace.team_id)
        self.check(installation is not None, f"no installation of {workspace.team_id} was stored")
        column = stored_bot_token_column(workspace.team_id)
        self.check(
            installation.bot_token == self.fake.bot_token(workspace.team_id),
            f"the stored bot token of {workspace.team_id} is not the one Slack issued",
        )
        self.check(
            column.startswith("gAAAAA") and "xox" not in column,
            f"the bot token column of {workspace.team_id} is not Fernet ciphertext: {column[:12]!r}...",
        )
        row(
            "database",
            f"SlackInstallation team_id={installation.team_id}  team_name={installation.team_name}  "
            f"user_id={installation.user_id}",
            f"bot_user_id={installation.bot_user_id}  bot_id={installation.bot_id}  "
            f"bot_scopes={','.join(installation.bot_scopes)}",
            f"bot_token column: {masked(column, 10)} (Fernet ciphertext, {len(column)} characters);",
            f"the store decrypts it to {token_owner(self.fake, installation.bot_token)}",
        )

    def slash_command(self, number: int, workspace: Workspace) -> RecordedCall:
        self.heading(number, f"In {workspace.name}, the user types /hello world in #general")
        request = slash_command(
            "/hello",
            "world",
            signing_secret=self.signing_secret,
            team_id=workspace.team_id,
            user_id=workspace.user_id,
            channel_id=workspace.channel_id,
            api_app_id=self.fake.api_app_id,
            response_url=self.fake.response_url(f"commands/{workspace.team_id}/hello"),
        )
        form = request.payload
        row(
            "request",
            f"POST {EVENTS_PATH}  form  command={form['command']}  text={short(form['text'])}",
            f"team_id={form['team_id']}  user_id={form['user_id']}  channel_id={form['channel_id']}",
        )
        reply = send(self.server.url, request)
        show_answer("ack", reply, "(shown to the user only; Slack wants it within 3 s)")
        self.expect_status(reply, 200, "/hello")
        self.check(bool(reply.body), "/hello was acknowledged with an empty body, not the listener's text")
        greeting = self.log.wait_for("chat.postMessage", channel=form["channel_id"])
        self.log.show(reply, workspace)
        return greeting

    def app_mention(self, number: int, workspace: Workspace) -> None:
        self.heading(number, f"In {workspace.name}, the user mentions the bot: @demo what's for lunch?")
        template = app_mention(
            "what's for lunch?",
            signing_secret=None,
            team_id=workspace.team_id,
            user_id=workspace.user_id,
            channel_id=workspace.channel_id,
            bot_user_id=workspace.bot_user_id,
        ).payload["event"]
        # Slack's own timestamp format, to the microsecond: unique, or the app would take it for a retry.
        ts = f"{time.time():.6f}"
        request = event(
            {**template, "ts": ts, "event_ts": ts},
            signing_secret=self.signing_secret,
            team_id=workspace.team_id,
            api_app_id=self.fake.api_app_id,
            bot_user_id=workspace.bot_user_id,
        )
        sent = request.payload["event"]
        row(
            "request",
            f"POST {EVENTS_PATH}  JSON  event_callback  type={sent['type']}  team_id={workspace.team_id}",
            f"channel={sent['channel']}  user={sent['user']}  ts={sent['ts']}",
            f"text={short(sent['text'])}",
        )
        reply = send(self.server.url, request)
        show_answer("ack", reply, "(Bolt acknowledges events before the listener runs)")
        self.expect_status(reply, 200, "app_mention")
        self.log.wait_for("chat.postMessage", channel=sent["channel"], thread_ts=sent["ts"])
        self.log.show(reply, workspace)
        rows, total = mention_rows(sent["ts"])
        self.check(len(rows) == 1, f"expected one Mention row with ts={sent['ts']}, found {len(rows)}")
        mention = rows[0]
        self.check(
            mention.team_id == workspace.team_id,
            f"the mention was stored for team {mention.team_id!r}, not {workspace.team_id}",
        )
        row(
            "database",
            f"Mention id={mention.pk}  team_id={mention.team_id}  channel={mention.channel}",
            f"user={mention.user}  ts={mention.ts}  text={short(mention.text)}",
            f"({total} mention(s) stored so far)",
        )

    def button_click(self, number: int, workspace: Workspace, greeting: RecordedCall) -> None:
        self.heading(number, f"In {workspace.name}, the user clicks the greeting's button")
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
            team_id=workspace.team_id,
            user_id=workspace.user_id,
            channel_id=greeting.params["channel"],
            api_app_id=self.fake.api_app_id,
            response_url=self.fake.response_url(f"actions/{workspace.team_id}/wave"),
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
            f"team={request.payload['team']['id']}  value={action.get('value')}  "
            f"message_ts={request.payload['container']['message_ts']}",
            f"response_url={request.payload['response_url']}",
        )
        reply = send(self.server.url, request)
        show_answer("ack", reply, "(an empty 200 is the ack; the listener goes on after it)")
        self.expect_status(reply, 200, "block action")
        self.log.wait_for(RESPONSE_URL_METHOD)
        self.log.show(reply, workspace)

    def forged_request(self, number: int, workspace: Workspace) -> None:
        self.heading(number, "Someone else posts a command, signed with the wrong secret")
        request = slash_command(
            "/hello", "it's me, Slack", signing_secret="not-" + self.signing_secret, team_id=workspace.team_id
        )
        signature = (request.signature or "")[:15]
        row("request", f"POST {EVENTS_PATH}  form  command=/hello  X-Slack-Signature={signature}...")
        reply = send(self.server.url, request)
        show_answer("answer", reply, "(refused by django_slack_bolt before the body is parsed)")
        self.expect_status(reply, 401, "the forged request")
        calls = self.log.show(reply, workspace, settle=0.2)
        self.check(not calls, f"the forged request reached the app: it called {[c.method for c in calls]}")

    def uninstall(self, number: int, workspace: Workspace, other: Workspace) -> None:
        self.heading(number, f"{workspace.name} uninstalls the app")
        before = row_counts(workspace.team_id), row_counts(other.team_id)
        request = event(
            {"type": "app_uninstalled"},
            signing_secret=self.signing_secret,
            team_id=workspace.team_id,
            api_app_id=self.fake.api_app_id,
            bot_user_id=workspace.bot_user_id,
        )
        row(
            "request",
            f"POST {EVENTS_PATH}  JSON  event_callback  type=app_uninstalled  team_id={workspace.team_id}",
        )
        reply = send(self.server.url, request)
        show_answer(
            "ack",
            reply,
            f"({self.variant.builder} turns on Bolt's listener that deletes the workspace's rows)",
        )
        self.expect_status(reply, 200, "app_uninstalled")
        # The listener runs after the ack, in a Bolt thread: wait for the rows to go.
        deadline = time.monotonic() + self.log.timeout
        while row_counts(workspace.team_id) != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        after = row_counts(workspace.team_id), row_counts(other.team_id)
        self.log.show(reply, workspace, settle=0.1)
        self.check(after[0] == (0, 0), f"{workspace.team_id} still has {after[0]} installation and bot rows")
        self.check(after[1] == before[1], f"{other.team_id}'s rows changed: {before[1]} -> {after[1]}")
        row(
            "database",
            f"{workspace.name}: {rows(*after[0])} (were {before[0][0]} and {before[0][1]}): deleted",
            f"{other.name}: {rows(*after[1])}: untouched",
        )

        # Someone in that workspace tries the command anyway: no installation, so no token to answer with.
        request = slash_command(
            "/hello",
            "anyone?",
            signing_secret=self.signing_secret,
            team_id=workspace.team_id,
            user_id=workspace.user_id,
            channel_id=workspace.channel_id,
            api_app_id=self.fake.api_app_id,
            response_url=self.fake.response_url(f"commands/{workspace.team_id}/hello-again"),
        )
        row(
            "request",
            f'POST {EVENTS_PATH}  form  command=/hello  text="anyone?"  team_id={workspace.team_id}',
        )
        reply = send(self.server.url, request)
        show_answer("ack", reply, "(no installation: Bolt tells the user through the response URL)")
        self.expect_status(reply, 200, "/hello after the uninstall")
        said = self.log.wait_for(RESPONSE_URL_METHOD)
        self.check("reinstall" in str(said.params.get("text")), f"unexpected answer: {said.params}")
        calls = self.log.show(reply, None, settle=0.1)
        self.check(
            [call.method for call in calls] == [RESPONSE_URL_METHOD],
            f"the uninstalled workspace's command made calls: {[call.method for call in calls]}",
        )

    def summary(self) -> None:
        """Which token each Web API call carried, per workspace; and that none was auth.test."""
        emit()
        calls = [call for call in self.fake.calls if call.method != AUTHORIZE_METHOD]
        lines = []
        for workspace in WORKSPACES:
            token_calls = [
                call
                for call in calls
                if call.token is not None
                and (info := self.fake.token_info(call.token)) is not None
                and info.workspace.id == workspace.team_id
            ]
            methods = Counter(call.method for call in token_calls)
            lines.append(
                f"{workspace.name} ({workspace.team_id}): "
                + ", ".join(f"{count} {method}" for method, count in sorted(methods.items()))
                + f", all with {workspace.name}'s bot token"
            )
        unknown = [call for call in calls if call.token and self.fake.token_info(call.token) is None]
        self.check(not unknown, f"calls with a token Slack never issued: {[c.method for c in unknown]}")
        auth_tests = sum(1 for call in calls if call.method == "auth.test")
        self.check(
            auth_tests == len(WORKSPACES), f"{auth_tests} auth.test calls for {len(WORKSPACES)} installations"
        )
        lines.append(f"auth.test: {auth_tests} calls, one per installation (by Bolt's OAuth flow); none for")
        lines.append("the requests, each authorized from its workspace's installation in the database")
        row("tokens", *lines)


def run(timeout: float, database: Path | None, variant: Variant = SYNC) -> None:
    missing = [module for module in variant.requires if importlib.util.find_spec(module) is None]
    if missing:
        raise DemoFailure(
            f"{' and '.join(missing)} not installed for {sys.executable}: {variant.install_hint}"
        )
    if database is not None and database.exists():
        raise DemoFailure(
            f"--database {database} exists: the demo makes a new database each run, since its tokens are "
            "encrypted with a key made for the run"
        )
    title = (
        f"django-slack-bolt demo: Slack (played by this script) -> {variant.server.name} -> Django -> Bolt"
    )
    emit(title)
    emit("=" * len(title))
    emit()
    # strict_tokens: a Web API call with a token this Slack did not issue is refused, as on Slack.
    fake = FakeSlack(strict_tokens=True).start()
    try:
        serve_and_play(fake, timeout, database, variant)
    finally:
        with deferred_signals():
            fake.stop()
        emit("fake Slack stopped.")
    made = [call for call in fake.calls if call.method != AUTHORIZE_METHOD]
    emit(f"Done: every step did what it should; the app made {len(made)} calls to Slack.")


def shown_path(path: Path) -> str:
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def serve_and_play(fake: FakeSlack, timeout: float, database: Path | None, variant: Variant) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="django-slack-bolt-demo-") as tmp,
        open(Path(tmp) / "server.log", "w+b") as log,
    ):
        database = database or Path(tmp) / "db.sqlite3"
        # Made for this run; any values work, as long as the app and the fake agree.
        client_id = f"{secrets.randbelow(10**10):010d}.{secrets.randbelow(10**13):013d}"
        client_secret = secrets.token_hex(16)
        signing_secret = secrets.token_hex(16)
        # What the app's settings page at api.slack.com holds: its credentials (its Redirect URL below).
        fake.configure_oauth(client_id=client_id, client_secret=client_secret)
        for workspace in WORKSPACES:
            fake.add_workspace(
                workspace.team_id,
                team_name=workspace.name,
                bot_user_id=workspace.bot_user_id,
                bot_id=workspace.bot_id,
                installer_user_id=workspace.user_id,
            )
        env = {
            **{key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES},
            # Set, not defaulted: an inherited DJANGO_SETTINGS_MODULE (a test run's) is not this project's.
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "SLACK_CLIENT_ID": client_id,
            "SLACK_CLIENT_SECRET": client_secret,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode("ascii"),
            "SLACK_API_URL": fake.url,
            "SLACK_AUTHORIZATION_URL": fake.authorize_url,
            "DEMO_DATABASE": str(database),
            # The app (demo_project.slack_app or .async_slack_app) and ASGI_APPLICATION: see settings.py.
            "DEMO_ASYNC": "true" if variant.demo_async else "false",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        # Not sent with the authorize link: the fake knows the app's Redirect URL, as Slack does.
        env.pop("SLACK_REDIRECT_URI", None)
        row(
            "fake Slack",
            f"{fake.url}  (SLACK_API_URL: records every call the app makes)",
            f"{fake.authorize_url}  (SLACK_AUTHORIZATION_URL)",
            "workspaces " + ", ".join(f"{w.name} ({w.team_id}, bot {w.bot_user_id})" for w in WORKSPACES),
        )
        row(
            "app",
            f"client id {client_id}; client secret, signing secret and token encryption key",
            "made for this run (SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET, SLACK_TOKEN_ENCRYPTION_KEYS)",
        )
        failure: DemoFailure | None = None
        server: AppServer | None = None
        django_ready = False
        try:
            # A Ctrl-C while the server starts waits until it has (and so can be stopped); raised when
            # this block ends, it is inside the try whose finally stops the server.
            with deferred_signals():
                server = variant.server(env, log)
            demo = Demo(fake, server, variant, signing_secret, CallLog(fake, timeout))
            # Migrating while the server boots saves a second; no request reaches the database before both.
            setup_django(env)
            django_ready = True
            row(
                "database",
                f"{shown_path(database)}  (new for this run)",
                *textwrap.wrap(f"manage.py migrate: {migrate()}; createcachetable", width=VALUE_WIDTH + 20),
            )
            ready = server.wait_until_ready(timeout=30)
            redirect_url = server.url + REDIRECT_PATH
            # The app's Redirect URL, as its settings at api.slack.com would hold it.
            fake.configure_oauth(redirect_uri=redirect_url)
            row(
                server.name,
                f"{server.url}  pid {server.pid}  {server.describe()}",
                f"ready {ready:.2f} s after start; Request URL {server.url}{EVENTS_PATH}",
                f"Redirect URL {redirect_url} (told to the fake, as to Slack in the app's settings)",
            )
            acme, beta = WORKSPACES
            demo.url_verification(1)
            demo.install(2, acme)
            demo.install(3, beta)
            number = 4
            for workspace in WORKSPACES:
                greeting = demo.slash_command(number, workspace)
                demo.app_mention(number + 1, workspace)
                demo.button_click(number + 2, workspace, greeting)
                number += 3
            demo.forged_request(number, acme)
            demo.uninstall(number + 1, acme, beta)
            demo.step = "summary"
            demo.summary()
        except DemoFailure as error:
            failure = DemoFailure(f"{demo.step}: {error}")
        finally:
            # All of it held from signals: a second Ctrl-C must not skip stopping the server.
            with deferred_signals():
                if django_ready:
                    from django.db import connections

                    connections.close_all()  # ours, to the same SQLite file
                outcome = server.stop() if server is not None else ""
            if server is not None:
                emit()
                emit(f"{server.name} (pid {server.pid}) {outcome}.")
        if failure is not None:
            tail = f"\n\nThe end of {server.name}'s log:\n{server.log_tail()}" if server is not None else ""
            raise DemoFailure(f"{failure}{tail}") from failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds to wait for each Web API call the app makes in the background (default: 5)",
    )
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="the SQLite file to create and keep (default: a temporary one, deleted at the end)",
    )
    parser.add_argument(
        "--async",
        dest="use_async",
        action="store_true",
        help="serve the async variant of the app (demo_project.async_slack_app, an AsyncApp) under uvicorn "
        "instead of the sync one under gunicorn",
    )
    args = parser.parse_args(argv)
    try:
        with signals_raise():
            run(
                args.timeout,
                args.database.resolve() if args.database else None,
                ASYNC if args.use_async else SYNC,
            )
    except DemoFailure as failure:
        print(f"\ndemo FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    except Interrupted as interrupted:
        print(f"\ndemo interrupted by {interrupted}", file=sys.stderr, flush=True)
        return 128 + interrupted.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
