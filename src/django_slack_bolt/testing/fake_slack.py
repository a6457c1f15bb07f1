"""A fake Slack Web API server on 127.0.0.1 that records every call and answers like Slack.

Point a Bolt app at it, and everything the app sends to Slack (``client.chat_postMessage``, ``say``,
``respond`` through a response URL made by :meth:`FakeSlack.response_url`) lands here instead::

    with FakeSlack() as fake, fake.point_app(app):
        ...  # drive the app, e.g. with SlackTestClient
        call = fake.wait_for_call("chat.postMessage")
        assert call.params["text"] == "Deployed!"

Bolt builds a new ``WebClient`` for every request from ``app.client`` (its ``base_url`` included), so
pointing ``app.client`` is enough for the ``client`` and ``say`` that listeners get.

Listeners usually run in background threads after ``ack()``; :meth:`FakeSlack.wait_for_call` blocks
until the call arrives. Answers can be scripted (errors, rate limits) with :meth:`FakeSlack.respond`,
and a ``latency`` simulates Slack's round trip. The server is threaded and handles many concurrent
connections (HTTP/1.1 keep-alive included), so load tests can use it too.

It also serves Slack's OAuth side (:mod:`~django_slack_bolt.testing.fake_oauth`): fake workspaces, the
authorize page, ``oauth.v2.access`` with token rotation, and per-token ``auth.test`` / ``auth.revoke``,
so an app's install flow runs offline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import email.policy
import http
import itertools
import json
import logging
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from .fake_oauth import (
    AUTHORIZE_METHOD,
    AUTHORIZE_PATH,
    DEFAULT_TOKEN_EXPIRES_IN,
    FakeOAuthConfig,
    FakeOAuthMixin,
)
from .requests import (
    DEFAULT_API_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
)

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

__all__ = [
    "AUTHORIZE_METHOD",
    "RESPONSE_URL_METHOD",
    "AppPatch",
    "FakeSlack",
    "RecordedCall",
    "ResponseBody",
]

logger = logging.getLogger("django_slack_bolt.testing")

RESPONSE_URL_METHOD: Final = "response_url"
"""The ``method`` of calls recorded on response URLs (what ``respond()`` posts to)."""

_API_PREFIX: Final = "/api/"
_HOOKS_PREFIX: Final = "/hooks/"
# The longest single wait of wait_for_call(). A signal handler (Ctrl-C's KeyboardInterrupt, or one that
# raises, as run_demo.py's does for SIGTERM) runs only when the main thread runs Python code; a signal that
# does not interrupt the wait itself (it came just before the wait began, or went to another thread, as a
# process-directed signal may) would otherwise be acted upon only when the whole timeout has run out.
_WAIT_SLICE: Final = 0.05


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``), :data:`RESPONSE_URL_METHOD` or
    :data:`~django_slack_bolt.testing.fake_oauth.AUTHORIZE_METHOD` (a visit to the authorize page, whose
    ``response`` holds the redirect's ``location`` and its ``code`` or ``error``, ``state`` and ``team``);
    ``params`` merges the query string, a form or multipart body and a JSON object body (JSON keeps its
    types; form values are strings, files are bytes); ``token`` comes from ``Authorization: Bearer``
    (or a ``token`` param). ``status`` and ``response`` are what the fake answered. A call is recorded
    as soon as it arrives, before any ``latency``.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    headers: dict[str, str] = field(repr=False)
    path: str
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)

    def matches(self, method: str | None = None, params: Mapping[str, Any] | None = None) -> bool:
        """Whether this is a call to ``method`` (any when ``None``) with every item of ``params``."""
        if method is not None and self.method != method:
            return False
        return all(
            name in self.params and self.params[name] == value for name, value in (params or {}).items()
        )


ResponseBody = Mapping[str, Any] | Callable[[RecordedCall], Mapping[str, Any]]
"""A scripted answer: a JSON object, or a function of the call that returns one."""


@dataclass
class _Script:
    body: ResponseBody | None
    status: int
    headers: dict[str, str]
    remaining: int | None


class AppPatch:
    """Undoes :meth:`FakeSlack.point_app`: call it, call :meth:`restore`, or use it as a context manager."""

    def __init__(self) -> None:
        self._changes: list[tuple[object, str, Any]] = []
        self._restored = False

    def _set(self, target: object, attribute: str, value: Any) -> None:
        self._changes.append((target, attribute, getattr(target, attribute)))
        setattr(target, attribute, value)

    def restore(self) -> None:
        """Give the pointed clients their ``base_url`` and the OAuth flow its authorize URL (idempotent)."""
        if not self._restored:
            for target, attribute, original in reversed(self._changes):
                setattr(target, attribute, original)
            self._restored = True

    def __call__(self) -> None:
        self.restore()

    def __enter__(self) -> AppPatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()


class FakeSlack(FakeOAuthMixin):
    """A fake Slack Web API (and response-URL, and OAuth) server; see the module docstring.

    ``latency`` (seconds) delays every answer; the ids are what ``auth.test`` and the default answers
    report for tokens the fake did not issue. ``client_id`` ... ``strict_tokens`` configure the OAuth
    side (:class:`~django_slack_bolt.testing.FakeOAuthConfig`). Start it with ``with FakeSlack() as
    fake:`` or :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        team_id: str = DEFAULT_TEAM_ID,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        api_app_id: str = DEFAULT_API_APP_ID,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_rotation: bool = False,
        token_expires_in: int = DEFAULT_TOKEN_EXPIRES_IN,
        strict_tokens: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.api_app_id = api_app_id
        self._initial_latency = latency
        self.latency = latency
        self._method_latency: dict[str, float] = {}
        self._calls: list[RecordedCall] = []
        self._scripts: dict[str, deque[_Script]] = {}
        self._standing: dict[str, _Script] = {}
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._init_oauth(
            FakeOAuthConfig(
                client_id=client_id,
                client_secret=client_secret,
                redirect_uri=redirect_uri,
                token_rotation=token_rotation,
                token_expires_in=token_expires_in,
                strict_tokens=strict_tokens,
            )
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Start serving in a background thread (binds the port; ``port=0`` picks a free one)."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = _Server((self.host, self.port), _Handler, self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: answers in flight are finished, open connections closed, the port released."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections(timeout=5.0 + self.latency + max(self._method_latency.values(), default=0.0))
        server.server_close()
        if thread is not None:
            thread.join()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<FakeSlack {state} calls={len(self._calls)}>"

    # -- addresses ---------------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def url(self) -> str:
        """The Web API base URL, ending in ``/api/``: ``WebClient(base_url=fake.url)``."""
        return f"http://{self.host}:{self.port}{_API_PREFIX}"

    def response_url(self, path_suffix: str | None = None) -> str:
        """A response URL on the fake; what is posted to it is recorded as :data:`RESPONSE_URL_METHOD`.

        ::

            client.command("/deploy", response_url=fake.response_url("deploy"))
            call = fake.wait_for_call("response_url")
            assert call.path.endswith("/deploy")
        """
        suffix = path_suffix if path_suffix is not None else f"commands/{self.team_id}/{next(self._ids)}"
        return f"http://{self.host}:{self.port}{_HOOKS_PREFIX}{suffix.lstrip('/')}"

    def point_app(self, app: App | AsyncApp) -> AppPatch:
        """Send ``app``'s Web API calls and OAuth flow here; the returned :class:`AppPatch` undoes it.

        Points ``app.client``, and for an app with an OAuth flow also the flow's own client (which
        calls ``oauth.v2.access``), its authorize URL (the install page links to :attr:`authorize_url`)
        and the token rotator's client (which refreshes tokens)::

            with fake.point_app(app):
                ...
        """
        patch = AppPatch()
        pointed: set[int] = set()

        def point(client: Any) -> None:
            if client is not None and id(client) not in pointed:
                pointed.add(id(client))
                patch._set(client, "base_url", self.url)

        point(app.client)
        oauth_flow = app.oauth_flow
        authorizers: list[Any] = [
            # Bolt keeps the authorize middleware private; its token rotator has a client of its own.
            getattr(app, "_authorize", None),
            getattr(app, "_async_authorize", None),
        ]
        if oauth_flow is not None:
            point(oauth_flow.client)
            settings = oauth_flow.settings
            patch._set(settings, "authorization_url", self.authorize_url)
            patch._set(settings.authorize_url_generator, "authorization_url", self.authorize_url)
            authorizers.append(getattr(settings, "authorize", None))
        for authorizer in authorizers:
            point(getattr(getattr(authorizer, "token_rotator", None), "client", None))
        return patch

    # -- recorded calls ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every call received since the last :meth:`reset`, oldest first (a copy)."""
        with self._changed:
            return list(self._calls)

    def calls_to(self, method: str, params: Mapping[str, Any] | None = None) -> list[RecordedCall]:
        """The calls to ``method`` (with every item of ``params``, if given), oldest first."""
        with self._changed:
            return [call for call in self._calls if call.matches(method, params)]

    def last_call(self, method: str | None = None) -> RecordedCall:
        """The most recent call (to ``method``, if given); an ``AssertionError`` when there is none."""
        with self._changed:
            for call in reversed(self._calls):
                if call.matches(method):
                    return call
            raise AssertionError(
                f"Slack was not called{f' at {method}' if method else ''}. {self._summary()}"
            )

    def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,
        count: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> RecordedCall:
        """Block until ``count`` calls to ``method`` (matching ``params``) arrived; the ``count``-th one.

        Raises ``AssertionError`` after ``timeout`` seconds, listing the calls received::

            client.app_mention("hi")  # the listener calls say() after ack(), in another thread
            call = fake.wait_for_call("chat.postMessage", params={"channel": "C00000001"})
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [call for call in self._calls if call.matches(method, params)]
                if len(matching) >= count:
                    return matching[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    wanted = f"{count} call(s) to {method}" + (f" with {dict(params)}" if params else "")
                    got = f"got {len(matching)}. {self._summary()}"
                    raise AssertionError(f"Timed out after {timeout}s waiting for {wanted}; {got}")
                self._changed.wait(min(remaining, _WAIT_SLICE))  # a new call wakes it at once

    def reset(self) -> None:
        """Forget calls, scripted answers, latency changes, workspaces, codes and tokens.

        Latency and the OAuth config go back to the constructor's.
        """
        with self._changed:
            self._calls.clear()
            self._scripts.clear()
            self._standing.clear()
            self._method_latency.clear()
            self.latency = self._initial_latency
        self._reset_oauth()

    def _summary(self) -> str:
        if not self._calls:
            return "No calls were received."
        return "Calls received: " + ", ".join(call.method for call in self._calls) + "."

    # -- scripted answers --------------------------------------------------------------------------

    def respond(
        self,
        method: str,
        json_body: ResponseBody | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Script the answer to ``method``.

        With ``times=N`` the answer is used for the next N calls (queued in order, before any standing
        answer); without, it becomes the standing answer until :meth:`reset`. ``json_body`` is a JSON
        object or a function of the :class:`RecordedCall`; ``None`` keeps the default body for a 2xx and
        ``{"ok": false, "error": ...}`` otherwise. A 429 gets ``Retry-After: 1`` unless ``headers`` say::

            fake.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"})
            fake.respond("chat.postMessage", status=429, headers={"Retry-After": "0"}, times=1)
            fake.respond("users.info", lambda call: {"ok": True, "user": {"id": call.params["user"]}})
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for a standing answer)")
        script = _Script(json_body, status, dict(headers or {}), times)
        with self._changed:
            if times is None:
                self._standing[method] = script
            else:
                self._scripts.setdefault(method, deque()).append(script)

    def set_latency(self, seconds: float | None, *, method: str | None = None) -> None:
        """Delay every answer (or only ``method``'s) by ``seconds``; ``None`` clears a method's own delay."""
        with self._changed:
            if method is None:
                self.latency = seconds or 0.0
            elif seconds is None:
                self._method_latency.pop(method, None)
            else:
                self._method_latency[method] = seconds

    # -- serving (called from the server's threads) ------------------------------------------------

    def _answer(self, call: RecordedCall) -> tuple[RecordedCall, dict[str, str], float]:
        if call.method == AUTHORIZE_METHOD:
            status, headers, authorized = self._authorize_answer(call.params)
            with self._changed:
                latency = self._method_latency.get(call.method, self.latency)
            return self._record(call, status, authorized), headers, latency
        # Slack checks the token before anything else: a refused token uses up no scripted answer.
        rejection = (
            None if call.method == RESPONSE_URL_METHOD else self._token_rejection(call.method, call.token)
        )
        with self._changed:
            script = None if rejection is not None else self._next_script(call.method)
            latency = self._method_latency.get(call.method, self.latency)
        status = script.status if script else 200
        headers = dict(script.headers) if script else {}
        body: Mapping[str, Any]
        if rejection is not None:
            body = rejection
        elif script is not None and script.body is not None:
            body = script.body(call) if callable(script.body) else script.body
        elif status < 400:
            body = self._default_body(call)
        else:
            body = {"ok": False, "error": _error_name(status)}
        if status == 429 and not any(name.lower() == "retry-after" for name in headers):
            headers["Retry-After"] = "1"
        return self._record(call, status, body), headers, latency

    def _record(self, call: RecordedCall, status: int, body: Mapping[str, Any]) -> RecordedCall:
        answered = dataclasses.replace(call, status=status, response=dict(body))
        with self._changed:
            self._calls.append(answered)
            self._changed.notify_all()
        return answered

    def _next_script(self, method: str) -> _Script | None:
        queue = self._scripts.get(method)
        if queue:
            script = queue[0]
            if script.remaining is not None:
                script.remaining -= 1
                if script.remaining <= 0:
                    queue.popleft()
            return script
        return self._standing.get(method)

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids) % 1_000_000:06d}"

    def _default_body(self, call: RecordedCall) -> dict[str, Any]:
        if call.method == RESPONSE_URL_METHOD:
            return {"ok": True}
        oauth = self._oauth_body(call.method, call.params, call.headers, call.token)
        if oauth is not None:
            return oauth
        builder = _DEFAULT_BODIES.get(call.method)
        return builder(self, call.params) if builder else {"ok": True}

    def _bot_message(self, params: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text", ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.api_app_id,
            "team": self.team_id,
            "ts": ts,
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if name in params:
                message[name] = _maybe_json(params[name])
        return message

    def _view(self, params: Mapping[str, Any], *, default_type: str = "modal") -> dict[str, Any]:
        view = _maybe_json(params.get("view")) or {}
        view = view if isinstance(view, dict) else {}
        view_id = params.get("view_id") or f"V{next(self._ids):08d}"
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", default_type),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "external_id": params.get("external_id") or view.get("external_id", ""),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


def _maybe_json(value: Any) -> Any:
    """Form-encoded Web API calls send objects as JSON strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _error_name(status: int) -> str:
    if status == 429:
        return "ratelimited"
    try:
        return http.HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        return "fatal_error"


def _auth_test(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"https://{fake.team_domain}.slack.com/",
        "team": "Fake Workspace",
        "user": "fake-bot",
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
    }


def _post_message(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    ts = fake._ts()
    return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": fake._bot_message(params, ts)}


def _post_ephemeral(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"ok": True, "message_ts": fake._ts()}


def _update(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    ts = params.get("ts") or fake._ts()
    return {
        "ok": True,
        "channel": params.get("channel"),
        "ts": ts,
        "text": params.get("text", ""),
        "message": fake._bot_message(params, ts),
    }


def _delete(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}


def _views(default_type: str) -> Callable[[FakeSlack, Mapping[str, Any]], dict[str, Any]]:
    def answer(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": fake._view(params, default_type=default_type)}

    return answer


def _conversations_open(fake: FakeSlack, params: Mapping[str, Any]) -> dict[str, Any]:
    channel = params.get("channel") or f"D{next(fake._ids):08d}"
    return {"ok": True, "channel": {"id": channel}}


_DEFAULT_BODIES: Final[Mapping[str, Callable[[FakeSlack, Mapping[str, Any]], dict[str, Any]]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.postEphemeral": _post_ephemeral,
    "chat.update": _update,
    "chat.delete": _delete,
    "views.open": _views("modal"),
    "views.push": _views("modal"),
    "views.update": _views("modal"),
    "views.publish": _views("home"),
    "conversations.open": _conversations_open,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a fake that is never stopped must not keep the interpreter alive
    request_queue_size = 1024  # load tests open many connections at once
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeSlack) -> None:
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._idle = threading.Condition()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread was started to forget it
            with self._idle:
                self._open.discard(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._idle:
                self._open.discard(request)
                self._idle.notify_all()

    def close_connections(self, timeout: float) -> None:
        """Let answers in flight finish, then wait for every connection thread to close its socket."""
        with self._idle:
            for connection in self._open:
                # Wakes threads waiting for another request on a keep-alive connection; an answer being
                # written still goes out.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
            self._idle.wait_for(lambda: not self._open, timeout=timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up is not a test failure; keep it out of stderr.
        logger.debug("FakeSlack: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls
    timeout = 60  # idle keep-alive connections
    server_version = "FakeSlack"
    sys_version = ""

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("FakeSlack: " + format, *args)

    def _serve(self) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        if split.path.startswith(_API_PREFIX) and len(split.path) > len(_API_PREFIX):
            method = split.path[len(_API_PREFIX) :]
        elif split.path.startswith(_HOOKS_PREFIX):
            method = RESPONSE_URL_METHOD
        elif split.path.rstrip("/") == AUTHORIZE_PATH:
            method = AUTHORIZE_METHOD
        else:
            self._send(404, {"ok": False, "error": "not_found"}, {})
            return
        headers = dict(self.headers.items())
        params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        params.update(_body_params(body, self.headers.get("Content-Type", "")))
        authorization = self.headers.get("Authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else None
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        call = RecordedCall(
            method=method,
            params=params,
            token=token,
            headers=headers,
            path=split.path,
            time=time.time(),
            body=body,
        )
        answered, extra_headers, latency = self.server.fake._answer(call)
        if latency > 0:
            time.sleep(latency)
        self._send(answered.status, answered.response, extra_headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return b"".join(self._chunks())
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def _send(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _body_params(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (not media_type and body[:1] == b"{"):
        try:
            decoded = json.loads(body)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    if media_type == "multipart/form-data":
        return _multipart(body, content_type)
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    params: dict[str, Any] = {}
    if not message.is_multipart():
        return params
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not name or not isinstance(payload, bytes):
            continue
        params[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
    return params
