"""What the adapter reads from, and changes in, a Bolt ``App`` or ``AsyncApp``, in one place.

Bolt exposes neither an app's middleware list nor its signing secret; the adapter needs both (to
verify signatures itself, before Bolt parses a body, and then to spare Bolt the second HMAC). Every
access to Bolt's private attributes for that is here, so a Bolt release that renames them is met in
one module (and the tests that exercise each function catch it). The same goes for the guard put around
Bolt's payload-reading middleware (:class:`GuardedMiddleware`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeGuard, TypeVar

from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.middleware.ssl_check import SslCheck

if TYPE_CHECKING:
    # Only for annotations: importing Bolt's async side needs aiohttp, which sync projects may not have.
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

__all__ = [
    "GuardedMiddleware",
    "answers_ssl_check",
    "guard_payload_middleware",
    "is_async_app",
    "replace_middleware",
    "request_verification_secret",
]

MiddlewareT = TypeVar("MiddlewareT")
# What a guarded middleware answers when it raised: given the body, the middleware and the error.
Refusal = Callable[[Any, Any, Exception], Any]


def is_async_app(obj: object) -> TypeGuard[AsyncApp]:
    """Whether ``obj`` is a Bolt ``AsyncApp``, without importing Bolt's async side (it needs aiohttp).

    An ``AsyncApp`` can only exist once its module has been imported.
    """
    module = sys.modules.get("slack_bolt.app.async_app")
    return module is not None and isinstance(obj, module.AsyncApp)


def request_verification_secret(app: App | AsyncApp) -> str | None:
    """The signing secret of ``app`` when it verifies requests, else ``None``.

    ``AsyncRequestVerification`` subclasses ``RequestVerification`` and keeps the same attribute.
    """
    for middleware in _middleware_of(app):
        if isinstance(middleware, RequestVerification):
            secret = getattr(middleware, "_signing_secret", None)
            return secret if isinstance(secret, str) else ""
    return None


def answers_ssl_check(app: App | AsyncApp) -> bool:
    """Whether ``app`` answers Slack's ``ssl_check`` pings itself (Bolt's ``SslCheck`` middleware)."""
    return any(isinstance(middleware, SslCheck) for middleware in _middleware_of(app))


def replace_middleware(
    app: App | AsyncApp, original: type[MiddlewareT], replacement: Callable[[MiddlewareT], object]
) -> None:
    """Swap each built-in middleware of exactly the type ``original`` in ``app`` for ``replacement(it)``."""
    middleware = _live_middleware_list(app)
    if middleware is None:
        return
    for index, item in enumerate(middleware):
        if type(item) is original:
            middleware[index] = replacement(item)


def _middleware_of(app: App | AsyncApp) -> list[object]:
    middleware = _live_middleware_list(app)
    if middleware is None:
        return []
    return [item.inner if isinstance(item, GuardedMiddleware) else item for item in middleware]


# Bolt's middleware modules whose errors are not the payload's: the user's own function middleware,
# and the authorization (the database, the cache or the network) and verification ones.
_NOT_PAYLOAD_MIDDLEWARE: Final = (
    "slack_bolt.middleware.custom_middleware",
    "slack_bolt.middleware.async_custom_middleware",
    "slack_bolt.middleware.authorization",
    "slack_bolt.middleware.request_verification",
)


def _reads_the_payload(middleware: Any) -> bool:
    module = type(middleware).__module__
    return module.startswith("slack_bolt.middleware.") and not module.startswith(_NOT_PAYLOAD_MIDDLEWARE)


class GuardedMiddleware:
    """One of Bolt's own middleware, whose exception on a payload is answered 400 instead of 500.

    Bolt's dispatch calls ``process`` (``App``) or ``async_process`` (``AsyncApp``); ``next`` only
    records that it was called, so what is caught here was raised by the middleware itself, never by a
    listener.
    """

    def __init__(self, inner: Any, refusal: Refusal) -> None:
        self.inner = inner
        self._refusal = refusal

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def process(self, *, req: Any, resp: Any, next: Callable[[], Any]) -> Any:
        try:
            return self.inner.process(req=req, resp=resp, next=next)
        except Exception as error:
            return self._refusal(req.body, self.inner, error)

    async def async_process(self, *, req: Any, resp: Any, next: Callable[[], Any]) -> Any:
        try:
            return await self.inner.async_process(req=req, resp=resp, next=next)
        except Exception as error:
            return self._refusal(req.body, self.inner, error)


def guard_payload_middleware(app: Any, listeners: Sequence[Any], refusal: Refusal) -> None:
    """Put each of Bolt's payload-reading middleware of ``app`` and of its ``listeners`` behind a
    :class:`GuardedMiddleware` answering with ``refusal`` (each once; later additions on the next call)."""
    lists: list[list[Any]] = [middleware for middleware in (_live_middleware_list(app),) if middleware]
    lists += [listener.middleware for listener in listeners if isinstance(listener.middleware, list)]
    for middleware in lists:
        for index, item in enumerate(middleware):
            if _reads_the_payload(item):
                middleware[index] = GuardedMiddleware(item, refusal)


def _live_middleware_list(app: App | AsyncApp) -> list[object] | None:
    # Bolt does not expose its middleware list; its built-in middleware is only ever added by the app
    # itself. App keeps it in _middleware_list, AsyncApp in _async_middleware_list.
    for attribute in ("_middleware_list", "_async_middleware_list"):
        middleware = getattr(app, attribute, None)
        if isinstance(middleware, list):
            return middleware
    return None
