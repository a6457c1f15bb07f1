"""The Django adapter for Bolt's ``AsyncApp``: async views, served under ASGI.

:class:`AsyncSlackRequestHandler` is the async counterpart of
:class:`~django_slack_bolt.handler.SlackRequestHandler`, built on the same conversion core (the request
guard, Django request to Bolt request, Bolt response to Django response, the routing); only the calls
into Bolt are awaited. It answers as soon as ``ack()`` is called
(:class:`~django_slack_bolt.async_listener_runner.FastAckAsyncioListenerRunner`), checks size and
signature before the body is parsed, and validates the app before changing it.

Importing this module imports Bolt's async side, which needs ``aiohttp`` (as every ``AsyncApp`` does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from logging import Logger
from threading import current_thread

from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.db import connections
from django.http import HttpRequest, HttpResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltError
from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncDefaultListenerCompletionHandler,
    AsyncListenerCompletionHandler,
)
from slack_bolt.listener.async_listener_start_handler import (
    AsyncDefaultListenerStartHandler,
    AsyncListenerStartHandler,
)
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from . import conf
from .async_listener_runner import FastAckAsyncioListenerRunner
from .handler import (
    build_bolt_request,
    not_found,
    read_request,
    release_thread_local_connections,
    route,
    to_django_response,
)
from .request_guard import SIGNATURE_VERIFIED, RequestGuard, replace_middleware

__all__ = [
    "AsyncDjangoLazyListenerRunner",
    "AsyncDjangoListenerCompletionHandler",
    "AsyncDjangoListenerStartHandler",
    "AsyncSlackRequestHandler",
    "ListenerOrmThread",
    "arelease_thread_local_connections",
    "close_thread_connections",
]


async def arelease_thread_local_connections(logger: Logger, execution_timing: str) -> None:
    """:func:`~django_slack_bolt.handler.release_thread_local_connections`, from async code.

    Runs in the thread that the caller's thread-sensitive ``sync_to_async`` calls (the async ORM
    included) run in, and closes the connections that thread holds once they are past
    ``CONN_MAX_AGE`` or unusable. For a custom completion handler: the ones installed by
    :class:`AsyncSlackRequestHandler` give each listener an ORM thread of its own instead.
    """
    await sync_to_async(release_thread_local_connections)(logger, execution_timing)


class ListenerOrmThread:
    """A thread of its own for one listener's thread-sensitive sync code (the ORM), as Django gives one
    to each request; ended, with its database connections closed, when the listener ends.

    Why: listeners and lazy listeners outlive the request they came with, and inherit its
    thread-sensitive context. Once Django is done with the request asgiref retires that context's
    thread, and the ORM calls a listener makes later get a new thread that only the garbage collector
    ends; a completion handler's ``close_old_connections()`` may run in either. Connections left in
    those threads stay open until the collector gets to them, and pile up under load (the figures are
    in tests/test_async_connection_hygiene.py). Here the thread and its connections belong to the
    listener, and end with it.

    :meth:`start` makes the calling task's thread-sensitive calls run in a thread of their own (created
    by asgiref on the first such call: a listener that runs no sync code costs no thread); :meth:`end`,
    awaited in the same task, closes every connection of that thread and lets the thread exit. Closing
    them all, not only those past ``CONN_MAX_AGE``, is right here: a connection kept for a thread that
    ends could never be used again. With Django's connection pool (``"OPTIONS": {"pool": True}`` on
    PostgreSQL, Django 5.1+) closing returns it to the pool.

    Where an outer sync thread runs the event loop's thread-sensitive code (``async_to_sync``, as in
    Django's test runner and ``AsyncClient`` tests), asgiref sends those calls to that thread as always:
    its connections are its owner's, and :meth:`end` leaves them alone.

    This sets asgiref's context variable the way ``ThreadSensitiveContext`` does: entering a
    ``ThreadSensitiveContext()`` inside the request's would reuse the request's.
    """

    def __init__(self) -> None:
        self._context = ThreadSensitiveContext()
        self._token: Token[ThreadSensitiveContext] | None = None

    @classmethod
    def start(cls) -> ListenerOrmThread:
        """Until :meth:`end`, run the calling task's thread-sensitive calls in a thread of their own."""
        orm_thread = cls()
        orm_thread._token = SyncToAsync.thread_sensitive_context.set(orm_thread._context)
        _current_orm_thread.set(orm_thread)
        return orm_thread

    @classmethod
    def current(cls) -> ListenerOrmThread | None:
        """The one :meth:`start` set in the calling task (``None`` if none, or if it has ended)."""
        return _current_orm_thread.get()

    async def end(self, logger: Logger, execution_timing: str) -> None:
        """Close the connections of this listener's thread and let it exit; from the task that started it."""
        if self._token is None:
            return
        executor = SyncToAsync.context_to_thread_executor.pop(self._context, None)
        SyncToAsync.thread_sensitive_context.reset(self._token)
        self._token = None
        if _current_orm_thread.get() is self:
            _current_orm_thread.set(None)
        if executor is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "No DB connections to close: the listener ran no sync code in a thread of its own "
                    f"(execution timing: {execution_timing})"
                )
            return
        try:
            await asyncio.wrap_future(executor.submit(close_thread_connections, logger, execution_timing))
        finally:
            executor.shutdown(wait=False)


# The ListenerOrmThread a task started (a context variable: each task sees its own).
_current_orm_thread: ContextVar[ListenerOrmThread | None] = ContextVar(
    "django_slack_bolt_listener_orm_thread", default=None
)


def close_thread_connections(logger: Logger, execution_timing: str) -> None:
    """Close every database connection of the calling thread, which is about to end.

    Unlike :func:`~django_slack_bolt.handler.release_thread_local_connections` it ignores
    ``CONN_MAX_AGE``: no later work will run in this thread to reuse them.
    """
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:
            logger.warning("Could not close the %r database connection", connection.alias, exc_info=True)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Closed the DB connections of a listener's thread "
            f"(thread name: {current_thread().name}, execution timing: {execution_timing})"
        )


class AsyncDjangoListenerStartHandler(AsyncListenerStartHandler):
    """Gives each listener an ORM thread of its own (:class:`ListenerOrmThread`).

    No thread hop: it only switches the listener's thread-sensitive context, so Slack's answer is not
    delayed. :class:`AsyncDjangoListenerCompletionHandler` ends it.
    """

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        ListenerOrmThread.start()


class AsyncDjangoListenerCompletionHandler(AsyncListenerCompletionHandler):
    """Closes the DB connections of the listener's ORM thread after each listener completes.

    With :class:`AsyncDjangoListenerStartHandler` (as :class:`AsyncSlackRequestHandler` installs them)
    that thread is the listener's own, and all its connections are closed; without it, those of the
    thread its ORM calls ran in that are past ``CONN_MAX_AGE`` or unusable.
    """

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        orm_thread = ListenerOrmThread.current()
        if orm_thread is None:
            await arelease_thread_local_connections(request.context.logger, "listener-completion")
        else:
            await orm_thread.end(request.context.logger, "listener-completion")


class AsyncDjangoLazyListenerRunner(AsyncLazyListenerRunner):
    """Runs each lazy listener as a task with an ORM thread of its own (:class:`ListenerOrmThread`),
    whose DB connections are closed when it completes.

    Unlike Bolt's ``AsyncioLazyListenerRunner`` it keeps a reference to each task until it finishes:
    the event loop holds tasks only weakly, so an unreferenced one can be collected mid-run.
    """

    def __init__(self, logger: Logger) -> None:
        self.logger = logger
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        async def run_with_connection_hygiene() -> None:
            orm_thread = ListenerOrmThread.start()
            try:
                await to_runnable_function(internal_func=function, logger=self.logger, request=request)
            finally:
                await orm_thread.end(request.context.logger, "lazy-listener-completion")

        task = asyncio.ensure_future(run_with_connection_hygiene())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _PreverifiedAsyncRequestVerification(AsyncRequestVerification):
    """Bolt's ``AsyncRequestVerification``, minus the second HMAC for requests the guard already verified.

    Anything else (a request dispatched to the app by other code) is verified as Bolt would.
    """

    @classmethod
    def replacing(cls, original: AsyncRequestVerification) -> _PreverifiedAsyncRequestVerification:
        return cls(signing_secret=original._signing_secret, base_logger=original.logger)

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        if req.context.get(SIGNATURE_VERIFIED) is True:
            return await next()
        return await super().async_process(req=req, resp=resp, next=next)


class AsyncSlackRequestHandler:
    """Serves a Bolt :class:`~slack_bolt.async_app.AsyncApp` from Django's async views.

    ``AsyncSlackRequestHandler(app)`` checks the app, then installs in it: the fast-ack listener runner
    (unless ``fast_ack=False`` or ``SLACK_BOLT["FAST_ACK"]`` is ``False``), a lazy-listener runner and
    listener start/completion handlers that give each listener and lazy listener an ORM thread of its
    own and close its DB connections when it ends (:class:`ListenerOrmThread`). ``await
    handle(request)`` routes like :class:`~django_slack_bolt.handler.SlackRequestHandler`: GET on the
    install path runs the install page, GET on the redirect URI path the OAuth callback, POST
    dispatches to the app, the rest is 404.
    """

    def __init__(self, app: AsyncApp, *, fast_ack: bool | None = None) -> None:
        # Validate before touching the app, so a refused app is left exactly as it was.
        if not isinstance(app, AsyncApp):
            raise BoltError(
                "AsyncSlackRequestHandler serves a slack_bolt.async_app.AsyncApp, "
                f"not a {type(app).__name__}: serve an App with django_slack_bolt.SlackRequestHandler."
            )
        runner = app.listener_runner
        if not isinstance(runner, AsyncioListenerRunner):
            raise BoltError(
                "Custom listener_runners are not compatible with this Django adapter: "
                "django_slack_bolt needs a slack_bolt AsyncioListenerRunner."
            )
        self.app = app
        self.guard = RequestGuard.for_app(app, max_body_size=conf.max_body_size())
        use_fast_ack = conf.get_setting("FAST_ACK") if fast_ack is None else fast_ack
        # The guard checks every signature before Bolt sees the request; Bolt need not do it again.
        replace_middleware(app, AsyncRequestVerification, _PreverifiedAsyncRequestVerification.replacing)

        if use_fast_ack and type(runner) is AsyncioListenerRunner:
            runner = FastAckAsyncioListenerRunner.from_runner(runner)
            # Bolt exposes the runner read-only; the app reads it from this attribute on every dispatch.
            app._async_listener_runner = runner
        elif use_fast_ack and not isinstance(runner, FastAckAsyncioListenerRunner):
            app.logger.info(
                "app.listener_runner is a custom AsyncioListenerRunner subclass; "
                "django_slack_bolt keeps it and does not install its fast-ack runner."
            )

        runner.lazy_listener_runner = AsyncDjangoLazyListenerRunner(logger=runner.logger)
        if app.process_before_response:
            # Listeners run before the answer, inside the request, whose connections Django manages.
            app.logger.debug("AsyncApp.process_before_response is set to True")
            return

        completion = runner.listener_completion_handler
        if completion is not None and not isinstance(
            completion, (AsyncDefaultListenerCompletionHandler, AsyncDjangoListenerCompletionHandler)
        ):
            # Without our completion handler nothing would end the threads our start handler begins.
            app.logger.info(
                "As app.listener_runner.listener_completion_handler is already your own, django_slack_bolt "
                "did not replace it with AsyncDjangoListenerCompletionHandler. Await "
                "django_slack_bolt.async_handler.arelease_thread_local_connections() in its handle() "
                "so that the threads running your listeners' ORM calls release stale database connections."
            )
            return
        runner.listener_completion_handler = AsyncDjangoListenerCompletionHandler()
        app.logger.debug("AsyncDjangoListenerCompletionHandler has been enabled")
        start = runner.listener_start_handler
        if start is not None and not isinstance(
            start, (AsyncDefaultListenerStartHandler, AsyncDjangoListenerStartHandler)
        ):
            app.logger.info(
                "As app.listener_runner.listener_start_handler is already your own, django_slack_bolt did "
                "not replace it with AsyncDjangoListenerStartHandler: listeners run their ORM calls in the "
                "request's thread, and persistent connections (CONN_MAX_AGE > 0) opened there may leak. Call "
                "django_slack_bolt.async_handler.ListenerOrmThread.start() in its handle()."
            )
        else:
            runner.listener_start_handler = AsyncDjangoListenerStartHandler()
            app.logger.debug("AsyncDjangoListenerStartHandler has been enabled")

    async def handle(self, req: HttpRequest) -> HttpResponse:
        """Route ``req`` the way Bolt's Django adapter does; anything not served is a 404."""
        target = route(req, self.app.oauth_flow)
        if target == "dispatch":
            return await self.dispatch(req)
        if target == "install":
            return await self.install(req)
        if target == "oauth_redirect":
            return await self.oauth_redirect(req)
        return not_found()

    async def dispatch(self, req: HttpRequest) -> HttpResponse:
        """Check ``req`` (size, signature, body) and hand it to the app; a rejected one never reaches it."""
        outcome = self.read_request(req)
        if isinstance(outcome, HttpResponse):
            return outcome
        return to_django_response(await self.app.async_dispatch(outcome))

    async def install(self, req: HttpRequest) -> HttpResponse:
        """The app's OAuth install page (404 when the app has no OAuth flow)."""
        oauth_flow = self.app.oauth_flow
        if oauth_flow is None:
            return not_found()
        return to_django_response(
            await oauth_flow.handle_installation(build_bolt_request(req, "", AsyncBoltRequest))
        )

    async def oauth_redirect(self, req: HttpRequest) -> HttpResponse:
        """The app's OAuth callback (404 when the app has no OAuth flow)."""
        oauth_flow = self.app.oauth_flow
        if oauth_flow is None:
            return not_found()
        return to_django_response(
            await oauth_flow.handle_callback(build_bolt_request(req, "", AsyncBoltRequest))
        )

    def read_request(self, req: HttpRequest) -> AsyncBoltRequest | HttpResponse:
        """The :class:`AsyncBoltRequest` for ``req``, or the 4xx response that refuses it.

        Synchronous on purpose: under ASGI Django has read the whole body before the view runs, and the
        checks are CPU work with nothing to wait for.
        """
        return read_request(req, self.guard, AsyncBoltRequest)
