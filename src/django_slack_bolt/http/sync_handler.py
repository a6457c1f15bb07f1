"""The sync face of the adapter: :class:`SlackRequestHandler` serves a Bolt ``App`` from Django views.

The same names and signatures as ``slack_bolt.adapter.django.handler`` (re-exported by
:mod:`django_slack_bolt.handler`), so switching is a one-line import change. On top of Bolt's adapter
it answers as soon as ``ack()`` is called instead of polling every 10 ms, checks size and signature
before the body is parsed (bad input is a 4xx, never a 500), validates the app before changing it, and
keeps each cookie's own ``Secure`` and ``HttpOnly`` flags.

Everything but the calls into Bolt is in :mod:`~django_slack_bolt.http.core`, shared with the async
face (:mod:`~django_slack_bolt.http.async_handler`); the two import nothing from each other.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from logging import Logger
from typing import Any

from django.http import HttpRequest, HttpResponse
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
from slack_bolt.middleware.middleware_error_handler import MiddlewareErrorHandler
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from .. import cache_steps, conf
from .bolt_app import is_async_app
from .connections import release_thread_local_connections
from .core import (
    SIGNATURE_VERIFIED,
    AppSetup,
    build_bolt_request,
    install_listener_handler,
    not_found,
    read_request,
    route,
    to_bolt_request,
    to_django_response,
)
from .lazy_pool import LazyListenerThreads
from .replay import ReplayGuard
from .thread_runner import FastAckThreadListenerRunner
from .unavailable import answer_unavailable

__all__ = [
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoThreadLazyListenerRunner",
    "PreverifiedRequestVerification",
    "SlackRequestHandler",
    "release_thread_local_connections",
    "to_bolt_request",
    "to_django_response",
]


class DjangoListenerStartHandler(ListenerStartHandler):
    """Releases the listener thread's stale DB connections before each listener runs."""

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        release_thread_local_connections(request.context.logger, "listener-start")


class DjangoListenerCompletionHandler(ListenerCompletionHandler):
    """Releases the listener thread's stale DB connections after each listener completes."""

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        release_thread_local_connections(request.context.logger, "listener-completion")


class DjangoThreadLazyListenerRunner(ThreadLazyListenerRunner):
    """A thread lazy-listener runner that releases DB connections before and after each lazy listener.

    With a ``pool`` (as :class:`SlackRequestHandler` installs it) lazy listeners run on threads of their
    own, ``SLACK_BOLT["LAZY_LISTENER_WORKERS"]`` of them, so that ack functions never wait behind
    them; without one, on ``executor`` as in Bolt.
    """

    def __init__(self, logger: Logger, executor: Executor, pool: LazyListenerThreads | None = None) -> None:
        super().__init__(logger=logger, executor=executor if pool is None else pool.executor)
        self.pool = pool

    def start(self, function: Any, request: BoltRequest) -> None:
        func = build_runnable_function(func=function, logger=self.logger, request=request)

        def run_with_connection_hygiene() -> None:
            release_thread_local_connections(request.context.logger, "before-lazy-listener")
            try:
                func()
            finally:
                release_thread_local_connections(request.context.logger, "lazy-listener-completion")

        if self.pool is not None:
            self.pool.submit(run_with_connection_hygiene)
        else:
            self.executor.submit(run_with_connection_hygiene)


class PreverifiedRequestVerification(RequestVerification):
    """Bolt's ``RequestVerification``, minus the second HMAC for requests the guard already verified.

    Anything else (a request dispatched to the app by other code) is verified as Bolt would.
    """

    @classmethod
    def replacing(cls, original: RequestVerification) -> PreverifiedRequestVerification:
        return cls(signing_secret=original._signing_secret, base_logger=original.logger)

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if req.context.get(SIGNATURE_VERIFIED) is True:
            return next()
        return super().process(req=req, resp=resp, next=next)


class UnavailableMiddlewareErrorHandler(MiddlewareErrorHandler):
    """Answers set-up failures in Bolt's middleware (authorize on an unmigrated database...) with a
    503 and one log line (:mod:`~django_slack_bolt.http.unavailable`); any other error goes to the
    app's own handler, as before."""

    def __init__(self, wrapped: MiddlewareErrorHandler) -> None:
        self.wrapped = wrapped

    def handle(self, error: Exception, request: BoltRequest, response: BoltResponse | None) -> None:
        if response is None or not answer_unavailable(error, response):
            self.wrapped.handle(error=error, request=request, response=response)


def _custom_handler_message(kind: str, ours: str) -> str:
    return (
        f"As app.listener_runner.listener_{kind}_handler is already your own, "
        f"django_slack_bolt did not replace it with {ours}. "
        "Call django.db.close_old_connections() in your handler's handle() method "
        "so that the listener threads release stale database connections."
    )


_SETUP = AppSetup(
    bolts_runner=ThreadListenerRunner,
    fast_ack_runner=FastAckThreadListenerRunner,
    runner_attribute="_listener_runner",
    verification=RequestVerification,
    preverified=PreverifiedRequestVerification,
    error_handler_attribute="_middleware_error_handler",
    unavailable_handler=UnavailableMiddlewareErrorHandler,
)


class SlackRequestHandler:
    """Serves a Bolt :class:`~slack_bolt.App` from Django views.

    ``SlackRequestHandler(app)`` checks the app, then installs in it: the fast-ack listener runner
    (unless ``fast_ack=False`` or ``SLACK_BOLT["FAST_ACK"]`` is ``False``), a lazy-listener runner and
    listener start/completion handlers that release DB connections. ``handle(request)`` routes like
    Bolt's adapter: GET on the install path runs the install page, GET on the redirect URI path the
    OAuth callback, POST dispatches to the app.
    """

    def __init__(self, app: App, *, fast_ack: bool | None = None) -> None:
        # Validate before touching the app, so a refused app is left exactly as it was.
        if is_async_app(app):
            raise BoltError(
                f"SlackRequestHandler serves a slack_bolt.App, not a {type(app).__name__}: "
                "serve an AsyncApp with django_slack_bolt.AsyncSlackRequestHandler."
            )
        runner, self.guard = _SETUP.prepare(app, fast_ack=fast_ack)
        self.replays = ReplayGuard.from_settings()
        self.app = app
        runner.lazy_listener_runner = DjangoThreadLazyListenerRunner(
            logger=runner.logger,
            executor=runner.listener_executor,
            pool=LazyListenerThreads(int(conf.get_setting("LAZY_LISTENER_WORKERS"))),
        )
        if app.process_before_response:
            # Listeners run in the request thread, whose connections Django manages itself.
            app.logger.debug("App.process_before_response is set to True")
            return
        for kind, bolts_default, ours in (
            ("start", DefaultListenerStartHandler, DjangoListenerStartHandler),
            ("completion", DefaultListenerCompletionHandler, DjangoListenerCompletionHandler),
        ):
            install_listener_handler(
                app,
                runner,
                kind,  # type: ignore[arg-type]
                replaceable=bolts_default,
                ours=ours,
                kept_message=_custom_handler_message(kind, ours.__name__),
            )

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
        steps, alias = self.replays.claim_for(outcome), self.replays.cache_alias
        if steps is not None and alias is not None and not cache_steps.run_or(steps, alias, True):
            return self.replays.refused(req)
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
