"""Django views that serve a Bolt app: events, the OAuth install page and the OAuth callback.

Each view is csrf-exempt (Slack cannot send a CSRF token; requests are authenticated by their
signature instead), exempt from ``LoginRequiredMiddleware`` on Django 5.1+, and allows only the
methods it serves: anything else is a 405 with an ``Allow`` header.

``SlackEventsView``, ``SlackInstallView`` and ``SlackOAuthRedirectView`` serve a ``slack_bolt.App``;
their ``Async`` counterparts are async views serving a ``slack_bolt.async_app.AsyncApp`` (under ASGI).
The twins stay twice on purpose: Django tells an async view by its ``async def`` methods, and each
method is one call into its handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from asgiref.sync import markcoroutinefunction
from django.contrib.auth import decorators as auth_decorators
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from slack_bolt.error import BoltError

from .app_loader import get_configured_async_handler, get_configured_handler
from .sync_handler import SlackRequestHandler
from .unavailable import unavailable

if TYPE_CHECKING:
    from .async_handler import AsyncSlackRequestHandler

# Django 5.1+ has LoginRequiredMiddleware; Slack cannot log in, so the views opt out of it.
login_not_required: Callable[[Any], Any] = getattr(
    auth_decorators, "login_not_required", lambda view_func: view_func
)


__all__ = [
    "AsyncSlackEventsView",
    "AsyncSlackInstallView",
    "AsyncSlackOAuthRedirectView",
    "AsyncSlackView",
    "SlackEventsView",
    "SlackInstallView",
    "SlackOAuthRedirectView",
    "SlackView",
]


def _exempt(view: Callable[..., Any], *, is_async: bool) -> Callable[..., Any]:
    """``view`` exempt from CSRF and from ``LoginRequiredMiddleware``; still a coroutine function if async.

    Decorating the view function once, rather than dispatch() through method_decorator, keeps the
    per-request cost at zero: method_decorator re-applies its decorators on every call.
    """
    exempted: Callable[..., Any] = login_not_required(csrf_exempt(view))
    if is_async:
        # Django 4.2's csrf_exempt wraps in a sync function; Django must still see an async view.
        exempted = markcoroutinefunction(exempted)
    return exempted


# What loading the app, setting its handler up or the OAuth pages' stores can raise when the project
# is not set up; http.unavailable tells which of them are (a 503), the rest propagate as before.
_SET_UP_ERRORS = (ImproperlyConfigured, BoltError, DatabaseError)


def _answer_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    problem = unavailable(error)
    if problem is None:
        raise error
    return problem.django_response(f"{request.method} {request.path}")


class SlackView(View):
    """Base view: serves ``handler`` (``as_view(handler=...)``), else the app of ``SLACK_BOLT["APP"]``."""

    handler: ClassVar[SlackRequestHandler | None] = None
    http_method_names: ClassVar[list[str]] = ["get"]  # type: ignore[misc]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        return _exempt(super().as_view(**initkwargs), is_async=False)

    def get_handler(self) -> SlackRequestHandler:
        return self.handler if self.handler is not None else get_configured_handler()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except _SET_UP_ERRORS as error:
            return _answer_unavailable(request, error)


class SlackEventsView(SlackView):
    """The Request URL for events, commands, actions, shortcuts and options: POST from Slack.

    HEAD answers 200 with no body, for uptime probes.
    """

    http_method_names: ClassVar[list[str]] = ["post", "head", "options"]  # type: ignore[misc]

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.get_handler().dispatch(request)

    def head(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)


class SlackInstallView(SlackView):
    """The app's "Add to Slack" install page (Bolt's OAuth flow)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.get_handler().install(request)


class SlackOAuthRedirectView(SlackView):
    """The app's OAuth redirect URI: completes an installation."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.get_handler().oauth_redirect(request)


class AsyncSlackView(View):
    """Base of the async views: serves ``handler`` (``as_view(handler=...)``), an
    :class:`~django_slack_bolt.http.async_handler.AsyncSlackRequestHandler`, else the ``AsyncApp`` of
    ``SLACK_BOLT["APP"]``."""

    handler: ClassVar[AsyncSlackRequestHandler | None] = None
    http_method_names: ClassVar[list[str]] = ["get"]  # type: ignore[misc]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        return _exempt(super().as_view(**initkwargs), is_async=True)

    def get_handler(self) -> AsyncSlackRequestHandler:
        return self.handler if self.handler is not None else get_configured_async_handler()

    async def dispatch(  # type: ignore[override]  # an async view's dispatch returns a coroutine
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        try:
            response: HttpResponseBase = await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except _SET_UP_ERRORS as error:
            return _answer_unavailable(request, error)
        return response


class AsyncSlackEventsView(AsyncSlackView):
    """The Request URL of an ``AsyncApp``: POST from Slack; HEAD answers 200 with no body."""

    http_method_names: ClassVar[list[str]] = ["post", "head", "options"]  # type: ignore[misc]

    async def post(self, request: HttpRequest) -> HttpResponse:
        return await self.get_handler().dispatch(request)

    async def head(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)


class AsyncSlackInstallView(AsyncSlackView):
    """An ``AsyncApp``'s "Add to Slack" install page (Bolt's ``AsyncOAuthFlow``)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        return await self.get_handler().install(request)


class AsyncSlackOAuthRedirectView(AsyncSlackView):
    """An ``AsyncApp``'s OAuth redirect URI: completes an installation."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        return await self.get_handler().oauth_redirect(request)
