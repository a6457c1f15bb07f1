"""django-slack-bolt: host Slack apps built with Bolt for Python in Django.

The adapter API is a drop-in replacement for ``slack_bolt.adapter.django``::

    from django_slack_bolt import SlackRequestHandler  # was: from slack_bolt.adapter.django import ...
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app_factory import build_app, build_async_app
    from .async_authorize import AsyncDjangoAuthorize
    from .async_handler import AsyncSlackRequestHandler
    from .async_listener_runner import FastAckAsyncioListenerRunner
    from .authorize import DjangoAuthorize
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
    from .installation_store import DjangoInstallationStore
    from .listener_runner import FastAckThreadListenerRunner
    from .state_store import DjangoOAuthStateStore

__version__ = "0.1.0"

__all__ = [
    "AsyncDjangoAuthorize",
    "AsyncSlackRequestHandler",
    "DjangoAuthorize",
    "DjangoInstallationStore",
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoOAuthStateStore",
    "DjangoSlackBoltError",
    "DjangoThreadLazyListenerRunner",
    "FastAckAsyncioListenerRunner",
    "FastAckThreadListenerRunner",
    "SlackBoltImproperlyConfigured",
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
    "FastAckThreadListenerRunner": ".listener_runner",
    # Bolt's async side needs aiohttp: imported only when asked for.
    "AsyncSlackRequestHandler": ".async_handler",
    "FastAckAsyncioListenerRunner": ".async_listener_runner",
    # Multi-workspace apps (the stores need the app registry: imported after django.setup()).
    "DjangoInstallationStore": ".installation_store",
    "DjangoOAuthStateStore": ".state_store",
    "DjangoAuthorize": ".authorize",
    "AsyncDjangoAuthorize": ".async_authorize",
    "build_app": ".app_factory",
    "build_async_app": ".app_factory",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES.get(name, ".handler"), __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
