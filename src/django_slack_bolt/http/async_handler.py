"""The async face of the adapter: :class:`AsyncSlackRequestHandler` serves a Bolt ``AsyncApp`` from
Django's async views, under ASGI.

It is :class:`~django_slack_bolt.http.sync_handler.SlackRequestHandler` for ``AsyncApp``, built on the
same request core (:mod:`~django_slack_bolt.http.core`); only the calls into Bolt are awaited. It
answers as soon as ``ack()`` is called
(:class:`~django_slack_bolt.http.asyncio_runner.FastAckAsyncioListenerRunner`), checks size and
signature before the body is parsed, validates the app before changing it, and gives every listener an
ORM thread of its own (:class:`~django_slack_bolt.http.connections.ListenerOrmThread`).

Importing this module imports Bolt's async side, which needs ``aiohttp`` (as every ``AsyncApp`` does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from logging import Logger

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
from slack_bolt.middleware.async_middleware_error_handler import AsyncMiddlewareErrorHandler
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from .. import cache_steps, conf
from .asyncio_runner import FastAckAsyncioListenerRunner
from .connections import ListenerOrmThread, arelease_thread_local_connections
from .core import (
    SIGNATURE_VERIFIED,
    AppSetup,
    build_bolt_request,
    install_listener_handler,
    not_found,
    read_request,
    route,
    to_django_response,
)
from .lazy_pool import LazyListenerTasks
from .replay import ReplayGuard
from .unavailable import answer_unavailable

__all__ = [
    "AsyncDjangoLazyListenerRunner",
    "AsyncDjangoListenerCompletionHandler",
    "AsyncDjangoListenerStartHandler",
    "AsyncSlackRequestHandler",
    "PreverifiedAsyncRequestVerification",
]


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
    the event loop holds tasks only weakly, so an unreferenced one can be collected mid-run. With a
    ``pool`` (as :class:`AsyncSlackRequestHandler` installs it) at most
    ``SLACK_BOLT["LAZY_LISTENER_WORKERS"]`` of them run at once; the others wait for a place.
    """

    def __init__(self, logger: Logger, pool: LazyListenerTasks | None = None) -> None:
        self.logger = logger
        self.pool = pool
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        async def run_with_connection_hygiene() -> None:
            orm_thread = ListenerOrmThread.start()
            try:
                await to_runnable_function(internal_func=function, logger=self.logger, request=request)
            finally:
                await orm_thread.end(request.context.logger, "lazy-listener-completion")

        async def run_in_the_pool() -> None:
            if self.pool is None:
                await run_with_connection_hygiene()
                return
            async with self.pool.place():
                await run_with_connection_hygiene()

        task = asyncio.ensure_future(run_in_the_pool())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class PreverifiedAsyncRequestVerification(AsyncRequestVerification):
    """Bolt's ``AsyncRequestVerification``, minus the second HMAC for requests the guard already verified.

    Anything else (a request dispatched to the app by other code) is verified as Bolt would.
    """

    @classmethod
    def replacing(cls, original: AsyncRequestVerification) -> PreverifiedAsyncRequestVerification:
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


class AsyncUnavailableMiddlewareErrorHandler(AsyncMiddlewareErrorHandler):
    """Answers set-up failures in Bolt's middleware with a 503 and one log line
    (:mod:`~django_slack_bolt.http.unavailable`); any other error goes to the app's own handler."""

    def __init__(self, wrapped: AsyncMiddlewareErrorHandler) -> None:
        self.wrapped = wrapped

    async def handle(
        self, error: Exception, request: AsyncBoltRequest, response: BoltResponse | None
    ) -> None:
        if response is None or not answer_unavailable(error, response):
            await self.wrapped.handle(error=error, request=request, response=response)


_SETUP = AppSetup(
    bolts_runner=AsyncioListenerRunner,
    fast_ack_runner=FastAckAsyncioListenerRunner,
    runner_attribute="_async_listener_runner",
    verification=AsyncRequestVerification,
    preverified=PreverifiedAsyncRequestVerification,
    error_handler_attribute="_async_middleware_error_handler",
    unavailable_handler=AsyncUnavailableMiddlewareErrorHandler,
)


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
        runner, self.guard = _SETUP.prepare(app, fast_ack=fast_ack)
        self.replays = ReplayGuard.from_settings()
        self.app = app
        runner.lazy_listener_runner = AsyncDjangoLazyListenerRunner(
            logger=runner.logger, pool=LazyListenerTasks(int(conf.get_setting("LAZY_LISTENER_WORKERS")))
        )
        if app.process_before_response:
            # Listeners run before the answer, inside the request, whose connections Django manages.
            app.logger.debug("AsyncApp.process_before_response is set to True")
            return
        # Without our completion handler nothing would end the threads our start handler begins.
        if not install_listener_handler(
            app,
            runner,
            "completion",
            replaceable=AsyncDefaultListenerCompletionHandler,
            ours=AsyncDjangoListenerCompletionHandler,
            kept_message=(
                "As app.listener_runner.listener_completion_handler is already your own, django_slack_bolt "
                "did not replace it with AsyncDjangoListenerCompletionHandler. Await "
                "django_slack_bolt.http.connections.arelease_thread_local_connections() in its handle() "
                "so that the threads running your listeners' ORM calls release stale database connections."
            ),
        ):
            return
        install_listener_handler(
            app,
            runner,
            "start",
            replaceable=AsyncDefaultListenerStartHandler,
            ours=AsyncDjangoListenerStartHandler,
            kept_message=(
                "As app.listener_runner.listener_start_handler is already your own, django_slack_bolt did "
                "not replace it with AsyncDjangoListenerStartHandler: listeners run their ORM calls in the "
                "request's thread, and persistent connections (CONN_MAX_AGE > 0) opened there may leak. Call "
                "django_slack_bolt.http.connections.ListenerOrmThread.start() in its handle()."
            ),
        )

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
        steps, alias = self.replays.claim_for(outcome), self.replays.cache_alias
        if steps is not None and alias is not None and not await cache_steps.arun_or(steps, alias, True):
            return self.replays.refused(req)
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
        """The :class:`AsyncBoltRequest` for ``req``, or the 4xx response that refuses it (synchronous:
        see :func:`~django_slack_bolt.http.core.read_request`)."""
        return read_request(req, self.guard, AsyncBoltRequest)
