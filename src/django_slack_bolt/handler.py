"""The Django adapter for Bolt for Python.

A drop-in replacement for ``slack_bolt.adapter.django.handler``: the same names and signatures, so
switching is a one-line import change. On top of Bolt's adapter it

* answers as soon as ``ack()`` is called instead of polling every 10 ms
  (:class:`~django_slack_bolt.listener_runner.FastAckThreadListenerRunner`);
* checks size and signature before the body is parsed, so bad input is a 4xx rather than a 500;
* validates the app before changing it, and keeps each cookie's own ``Secure`` and ``HttpOnly`` flags.

The conversion core (Django request to Bolt request through the guard, Bolt response to Django
response, and the routing) is module-level and shared with
:class:`~django_slack_bolt.async_handler.AsyncSlackRequestHandler`: only dispatching differs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from logging import Logger
from threading import current_thread
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, RawPostDataException
from slack_bolt.app import App
from slack_bolt.error import BoltError
from slack_bolt.lazy_listener import ThreadLazyListenerRunner
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.listener.listener_completion_handler import (
    DefaultListenerCompletionHandler,
    ListenerCompletionHandler,
)
from slack_bolt.listener.listener_start_handler import DefaultListenerStartHandler, ListenerStartHandler
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from . import conf
from .listener_runner import FastAckThreadListenerRunner
from .request_guard import (
    SIGNATURE_VERIFIED,
    Rejection,
    RequestGuard,
    is_async_app,
    parse_request,
    skip_repeated_verification,
)

if TYPE_CHECKING:
    # Only for annotations: importing Bolt's async side needs aiohttp, which sync projects may not have.
    from slack_bolt.oauth import OAuthFlow
    from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
    from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = [
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoThreadLazyListenerRunner",
    "SlackRequestHandler",
    "release_thread_local_connections",
    "to_bolt_request",
    "to_django_response",
]

logger = logging.getLogger("django_slack_bolt.request")


# --- the conversion core: shared by the sync and the async handler -------------------------------

# BoltRequest or AsyncBoltRequest: Bolt's two request classes take the same arguments.
RequestT = TypeVar("RequestT", "BoltRequest", "AsyncBoltRequest")


def to_bolt_request(req: HttpRequest) -> BoltRequest:
    """Convert a Django request to a :class:`BoltRequest` (body as UTF-8 text, query, headers)."""
    raw_body: bytes = req.body
    return build_bolt_request(req, raw_body.decode("utf-8") if raw_body else "", BoltRequest)


def build_bolt_request(
    req: HttpRequest, body: str, request_class: type[RequestT], *, signature_verified: bool = False
) -> RequestT:
    """``request_class`` (``BoltRequest`` or ``AsyncBoltRequest``) for ``req`` with ``body`` as its text.

    ``signature_verified`` marks a request whose signature the guard has checked, in its context.
    """
    # Bolt normalizes the headers itself: hand it Django's mapping as it is, no copy.
    headers = cast("dict[str, str | Sequence[str]]", req.headers)
    return request_class(
        body=body,
        query=req.META.get("QUERY_STRING", ""),
        headers=headers,
        context={SIGNATURE_VERIFIED: True} if signature_verified else None,
    )


def read_request(
    req: HttpRequest, guard: RequestGuard, request_class: type[RequestT]
) -> RequestT | HttpResponse:
    """The Bolt request for ``req`` if it passes ``guard``, else the 4xx response that refuses it.

    Size first (from ``Content-Length``, before the body is read), then the signature, then the body's
    shape: Bolt only ever sees a request that is signed (when the app verifies) and well formed.
    """
    rejection = guard.check_size(req.META.get("CONTENT_LENGTH"))
    if rejection is not None:
        return _rejected(req, rejection)
    try:
        raw_body = req.body
    except RequestDataTooBig:
        return _rejected(req, Rejection(413, "request body too large"))
    except RawPostDataException:
        return _rejected(req, Rejection(400, "request body was already read"))
    outcome = guard.check(raw_body, req.headers.get, req.content_type)
    if isinstance(outcome, Rejection):
        return _rejected(req, outcome)
    verified = outcome.signature_verified
    parsed = parse_request(
        outcome.text,
        lambda text: build_bolt_request(req, text, request_class, signature_verified=verified),
    )
    if isinstance(parsed, Rejection):
        return _rejected(req, parsed)
    return parsed


Route = Literal["install", "oauth_redirect", "dispatch"]


def route(req: HttpRequest, oauth_flow: OAuthFlow | AsyncOAuthFlow | None) -> Route | None:
    """Where Bolt's Django adapter sends ``req``: GET on the OAuth flow's install path or redirect URI
    path, POST to the app; ``None`` for anything else (a 404)."""
    if req.method == "POST":
        return "dispatch"
    if req.method == "GET" and oauth_flow is not None:
        if req.path == oauth_flow.install_path:
            return "install"
        if req.path == oauth_flow.redirect_uri_path:
            return "oauth_redirect"
    return None


def not_found() -> HttpResponse:
    """The answer to a request neither handler serves, as Bolt's adapter gives it."""
    return HttpResponse(status=404, content=b"Not Found")


def to_django_response(bolt_resp: BoltResponse) -> HttpResponse:
    """Convert a :class:`BoltResponse` to a Django response: status, body, headers and cookies."""
    resp = HttpResponse(status=bolt_resp.status, content=bolt_resp.body.encode("utf-8"))
    for name, value in bolt_resp.first_headers_without_set_cookie().items():
        resp[name] = value
    for cookie in bolt_resp.cookies():
        for name, morsel in cookie.items():
            max_age = morsel.get("max-age")
            resp.set_cookie(
                key=name,
                value=morsel.value,
                expires=morsel.get("expires") or None,
                max_age=int(max_age) if max_age else None,
                domain=morsel.get("domain") or None,
                path=morsel.get("path") or "/",
                # Keep the cookie's own flags (Bolt's adapter forces Secure and HttpOnly on every cookie).
                secure=bool(morsel.get("secure")),
                httponly=bool(morsel.get("httponly")),
                samesite=morsel.get("samesite") or None,
            )
    return resp


def _rejected(req: HttpRequest, rejection: Rejection) -> HttpResponse:
    # A client's mistake: one INFO line, never a traceback.
    logger.info("Refused Slack request to %s with %s: %s", req.path, rejection.status, rejection.reason)
    return HttpResponse(rejection.json_body(), status=rejection.status, content_type="application/json")


# --- the sync handler ------------------------------------------------------------------------------


def release_thread_local_connections(logger: Logger, execution_timing: str) -> None:
    """Close the calling thread's stale database connections.

    Django only cleans up connections in the threads that serve requests; Bolt runs listeners in its
    own executor threads. ``close_old_connections`` (not ``connections.close_all``) honours
    ``CONN_MAX_AGE`` and closes connections that are unusable or past their age.
    """
    close_old_connections()
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Released thread-bound old DB connections "
            f"(thread name: {current_thread().name}, execution timing: {execution_timing})"
        )


class DjangoListenerStartHandler(ListenerStartHandler):
    """Releases the listener thread's stale DB connections before each listener runs."""

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        release_thread_local_connections(request.context.logger, "listener-start")


class DjangoListenerCompletionHandler(ListenerCompletionHandler):
    """Releases the listener thread's stale DB connections after each listener completes."""

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        release_thread_local_connections(request.context.logger, "listener-completion")


class DjangoThreadLazyListenerRunner(ThreadLazyListenerRunner):
    """A thread lazy-listener runner that releases DB connections before and after each lazy listener."""

    def start(self, function: Any, request: BoltRequest) -> None:
        func = build_runnable_function(func=function, logger=self.logger, request=request)

        def run_with_connection_hygiene() -> None:
            release_thread_local_connections(request.context.logger, "before-lazy-listener")
            try:
                func()
            finally:
                release_thread_local_connections(request.context.logger, "lazy-listener-completion")

        self.executor.submit(run_with_connection_hygiene)


def _custom_handler_message(kind: str, ours: str) -> str:
    return (
        f"As app.listener_runner.listener_{kind}_handler is already your own, "
        f"django_slack_bolt did not replace it with {ours}. "
        "Call django.db.close_old_connections() in your handler's handle() method "
        "so that the listener threads release stale database connections."
    )


class SlackRequestHandler:
    """Serves a Bolt :class:`~slack_bolt.App` from Django views.

    ``SlackRequestHandler(app)`` checks the app, then installs in it: the fast-ack listener runner
    (unless ``fast_ack=False``), a lazy-listener runner and listener start/completion handlers that
    release DB connections. ``handle(request)`` routes like Bolt's adapter: GET on the install path
    runs the install page, GET on the redirect URI path the OAuth callback, POST dispatches to the app.
    """

    def __init__(self, app: App, *, fast_ack: bool | None = None) -> None:
        # Validate before touching the app, so a refused app is left exactly as it was.
        if is_async_app(app):
            raise BoltError(
                f"SlackRequestHandler serves a slack_bolt.App, not a {type(app).__name__}: "
                "serve an AsyncApp with django_slack_bolt.AsyncSlackRequestHandler."
            )
        runner = app.listener_runner
        if not isinstance(runner, ThreadListenerRunner):
            raise BoltError(
                "Custom listener_runners are not compatible with this Django adapter: "
                "django_slack_bolt needs a slack_bolt ThreadListenerRunner."
            )
        self.app = app
        self.guard = RequestGuard.for_app(app, max_body_size=conf.max_body_size())
        # The guard checks every signature before Bolt sees the request; Bolt need not do it again.
        skip_repeated_verification(app)
        use_fast_ack = conf.get_setting("FAST_ACK") if fast_ack is None else fast_ack

        if use_fast_ack and type(runner) is ThreadListenerRunner:
            runner = FastAckThreadListenerRunner.from_runner(runner)
            # Bolt exposes the runner read-only; the app reads it from this attribute on every dispatch.
            app._listener_runner = runner
        elif use_fast_ack and not isinstance(runner, FastAckThreadListenerRunner):
            app.logger.info(
                "app.listener_runner is a custom ThreadListenerRunner subclass; "
                "django_slack_bolt keeps it and does not install its fast-ack runner."
            )

        runner.lazy_listener_runner = DjangoThreadLazyListenerRunner(
            logger=runner.logger, executor=runner.listener_executor
        )
        if app.process_before_response:
            # Listeners run in the request thread, whose connections Django manages itself.
            app.logger.debug("App.process_before_response is set to True")
            return

        for kind, bolts_default, ours in (
            ("start", DefaultListenerStartHandler, DjangoListenerStartHandler),
            ("completion", DefaultListenerCompletionHandler, DjangoListenerCompletionHandler),
        ):
            attribute = f"listener_{kind}_handler"
            current = getattr(runner, attribute)
            if current is not None and not isinstance(current, (bolts_default, ours)):
                app.logger.info(_custom_handler_message(kind, ours.__name__))
            else:
                setattr(runner, attribute, ours())
                app.logger.debug(f"{ours.__name__} has been enabled")

    def handle(self, req: HttpRequest) -> HttpResponse:
        """Route ``req`` the way Bolt's Django adapter does; anything not served is a 404."""
        target = route(req, self.app.oauth_flow)
        if target == "dispatch":
            return self.dispatch(req)
        if target == "install":
            return self.install(req)
        if target == "oauth_redirect":
            return self.oauth_redirect(req)
        return not_found()

    def dispatch(self, req: HttpRequest) -> HttpResponse:
        """Check ``req`` (size, signature, body) and hand it to the app; a rejected one never reaches it."""
        outcome = self.read_request(req)
        if isinstance(outcome, HttpResponse):
            return outcome
        return to_django_response(self.app.dispatch(outcome))

    def install(self, req: HttpRequest) -> HttpResponse:
        """The app's OAuth install page (404 when the app has no OAuth flow)."""
        oauth_flow = self.app.oauth_flow
        if oauth_flow is None:
            return not_found()
        return to_django_response(oauth_flow.handle_installation(build_bolt_request(req, "", BoltRequest)))

    def oauth_redirect(self, req: HttpRequest) -> HttpResponse:
        """The app's OAuth callback (404 when the app has no OAuth flow)."""
        oauth_flow = self.app.oauth_flow
        if oauth_flow is None:
            return not_found()
        return to_django_response(oauth_flow.handle_callback(build_bolt_request(req, "", BoltRequest)))

    def read_request(self, req: HttpRequest) -> BoltRequest | HttpResponse:
        """The :class:`BoltRequest` for ``req``, or the 4xx response that refuses it."""
        return read_request(req, self.guard, BoltRequest)
