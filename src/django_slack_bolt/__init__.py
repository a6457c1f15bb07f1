"""django-slack-bolt: host Slack apps built with Bolt for Python in Django.

The adapter API is a drop-in replacement for ``slack_bolt.adapter.django``::

    from django_slack_bolt import SlackRequestHandler  # was: from slack_bolt.adapter.django import ...
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .exceptions import DjangoSlackBoltError, SlackBoltImproperlyConfigured
    from .handler import (
        DjangoListenerCompletionHandler,
        DjangoListenerStartHandler,
        DjangoThreadLazyListenerRunner,
        SlackRequestHandler,
        release_thread_local_connections,
        to_bolt_request,
        to_django_response,
    )
    from .http.async_handler import AsyncSlackRequestHandler
    from .http.asyncio_runner import FastAckAsyncioListenerRunner
    from .http.thread_runner import FastAckThreadListenerRunner
    from .http.views import (
        AsyncSlackEventsView,
        AsyncSlackInstallView,
        AsyncSlackOAuthRedirectView,
        SlackEventsView,
        SlackInstallView,
        SlackOAuthRedirectView,
    )
    from .oauth.app_factory import build_app, build_async_app
    from .oauth.async_authorize import AsyncDjangoAuthorize
    from .oauth.async_pages import AsyncDjangoOAuthFlow
    from .oauth.authorize import DjangoAuthorize
    from .oauth.installation_store import DjangoInstallationStore
    from .oauth.pages import DjangoOAuthFlow
    from .oauth.state_store import DjangoOAuthStateStore

__version__ = "0.1.0"

__all__ = [
    "AsyncDjangoAuthorize",
    "AsyncDjangoOAuthFlow",
    "AsyncSlackEventsView",
    "AsyncSlackInstallView",
    "AsyncSlackOAuthRedirectView",
    "AsyncSlackRequestHandler",
    "DjangoAuthorize",
    "DjangoInstallationStore",
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoOAuthFlow",
    "DjangoOAuthStateStore",
    "DjangoSlackBoltError",
    "DjangoThreadLazyListenerRunner",
    "FastAckAsyncioListenerRunner",
    "FastAckThreadListenerRunner",
    "SlackBoltImproperlyConfigured",
    "SlackEventsView",
    "SlackInstallView",
    "SlackOAuthRedirectView",
    "SlackRequestHandler",
    "build_app",
    "build_async_app",
    "release_thread_local_connections",
    "to_bolt_request",
    "to_django_response",
]

# Imported on first use: the package is imported by Django's app loading and by the test kit's pytest
# plugin (loaded in every pytest run of a project that installs it), which need none of Bolt.
_MODULES = {
    "DjangoSlackBoltError": ".exceptions",
    "SlackBoltImproperlyConfigured": ".exceptions",
    "FastAckThreadListenerRunner": ".http.thread_runner",
    **dict.fromkeys(
        (
            "SlackEventsView",
            "SlackInstallView",
            "SlackOAuthRedirectView",
            "AsyncSlackEventsView",
            "AsyncSlackInstallView",
            "AsyncSlackOAuthRedirectView",
        ),
        ".http.views",
    ),
    # Bolt's async side needs aiohttp: imported only when asked for.
    "AsyncSlackRequestHandler": ".http.async_handler",
    "FastAckAsyncioListenerRunner": ".http.asyncio_runner",
    "AsyncDjangoOAuthFlow": ".oauth.async_pages",
    # Multi-workspace apps (the stores need the app registry: imported after django.setup()).
    "DjangoInstallationStore": ".oauth.installation_store",
    "DjangoOAuthStateStore": ".oauth.state_store",
    "DjangoAuthorize": ".oauth.authorize",
    "AsyncDjangoAuthorize": ".oauth.async_authorize",
    "DjangoOAuthFlow": ".oauth.pages",
    "build_app": ".oauth.app_factory",
    "build_async_app": ".oauth.app_factory",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES.get(name, ".handler"), __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
