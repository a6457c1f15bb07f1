"""The URL patterns ``django_slack_bolt.urls`` serves: the events URL and, for apps with OAuth, the
install and redirect pages.

::

    urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]

serves ``/slack/events``, and for an app with an OAuth flow ``/slack/install`` and
``/slack/oauth_redirect`` (the last segment of the app's ``install_path`` and
``redirect_uri_path``), each with or without a trailing slash. The views are async when the app of
``SLACK_BOLT["APP"]`` is an ``AsyncApp``, sync for an ``App``.
"""

from __future__ import annotations

import logging
import re

from django.urls import URLPattern, re_path
from django.views import View

from ..exceptions import SlackBoltImproperlyConfigured
from .app_loader import get_configured_app
from .bolt_app import is_async_app
from .views import (
    AsyncSlackEventsView,
    AsyncSlackInstallView,
    AsyncSlackOAuthRedirectView,
    SlackEventsView,
    SlackInstallView,
    SlackOAuthRedirectView,
)

app_name = "django_slack_bolt"
logger = logging.getLogger("django_slack_bolt.request")


def last_segment(path: str) -> str:
    """``"/slack/install"`` -> ``"install"``: the part of an OAuth path served below the include prefix."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _route(segment: str) -> str:
    return rf"^{re.escape(segment)}/?$"


def build_urlpatterns() -> list[URLPattern]:
    """The URL patterns for the configured app (events only when it has no OAuth flow)."""
    try:
        app = get_configured_app()
    except SlackBoltImproperlyConfigured as error:
        # Reported by the system checks (django_slack_bolt.E001-E003); the events view raises it again.
        logger.warning("django_slack_bolt.urls serves only the events URL: %s", error)
        return [re_path(_route("events"), SlackEventsView.as_view(), name="events")]
    views: tuple[type[View], type[View], type[View]] = (
        (AsyncSlackEventsView, AsyncSlackInstallView, AsyncSlackOAuthRedirectView)
        if is_async_app(app)
        else (SlackEventsView, SlackInstallView, SlackOAuthRedirectView)
    )
    events, install, oauth_redirect = views
    patterns = [re_path(_route("events"), events.as_view(), name="events")]
    oauth_flow = app.oauth_flow
    if oauth_flow is not None:
        patterns += [
            re_path(_route(last_segment(oauth_flow.install_path)), install.as_view(), name="install"),
            re_path(
                _route(last_segment(oauth_flow.redirect_uri_path)),
                oauth_redirect.as_view(),
                name="oauth_redirect",
            ),
        ]
    return patterns
