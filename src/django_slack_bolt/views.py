"""Django views that serve a Bolt app: events, the OAuth install page and the OAuth callback.

Each view is csrf-exempt (Slack cannot send a CSRF token; requests are authenticated by their
signature instead), exempt from ``LoginRequiredMiddleware`` on Django 5.1+, and allows only the
methods it serves: anything else is a 405 with an ``Allow`` header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth import decorators as auth_decorators
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .app_loader import get_configured_handler
from .handler import SlackRequestHandler

# Django 5.1+ has LoginRequiredMiddleware; Slack cannot log in, so the views opt out of it.
login_not_required: Callable[[Any], Any] = getattr(
    auth_decorators, "login_not_required", lambda view_func: view_func
)


__all__ = ["SlackEventsView", "SlackInstallView", "SlackOAuthRedirectView", "SlackView"]


class SlackView(View):
    """Base view: serves ``handler`` (``as_view(handler=...)``), else the app of ``SLACK_BOLT["APP"]``."""

    handler: ClassVar[SlackRequestHandler | None] = None
    http_method_names: ClassVar[list[str]] = ["get"]  # type: ignore[misc]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # Decorating the view function once, rather than dispatch() through method_decorator, keeps
        # the per-request cost at zero: method_decorator re-applies its decorators on every call.
        view: Callable[..., HttpResponseBase] = login_not_required(csrf_exempt(super().as_view(**initkwargs)))
        return view

    def get_handler(self) -> SlackRequestHandler:
        return self.handler if self.handler is not None else get_configured_handler()


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
