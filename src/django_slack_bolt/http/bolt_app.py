"""What the adapter reads from, and changes in, a Bolt ``App`` or ``AsyncApp``, in one place.

Bolt exposes neither an app's middleware list nor its signing secret; the adapter needs both (to
verify signatures itself, before Bolt parses a body, and then to spare Bolt the second HMAC). Every
access to Bolt's private attributes for that is here, so a Bolt release that renames them is met in
one module (and the tests that exercise each function catch it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeGuard, TypeVar

from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.middleware.ssl_check import SslCheck

if TYPE_CHECKING:
    # Only for annotations: importing Bolt's async side needs aiohttp, which sync projects may not have.
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

__all__ = ["answers_ssl_check", "is_async_app", "replace_middleware", "request_verification_secret"]

MiddlewareT = TypeVar("MiddlewareT")


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
    return list(middleware) if middleware is not None else []


def _live_middleware_list(app: App | AsyncApp) -> list[object] | None:
    # Bolt does not expose its middleware list; its built-in middleware is only ever added by the app
    # itself. App keeps it in _middleware_list, AsyncApp in _async_middleware_list.
    for attribute in ("_middleware_list", "_async_middleware_list"):
        middleware = getattr(app, attribute, None)
        if isinstance(middleware, list):
            return middleware
    return None
