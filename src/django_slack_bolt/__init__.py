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
    from .listener_runner import FastAckThreadListenerRunner

__version__ = "0.1.0"

__all__ = [
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoSlackBoltError",
    "DjangoThreadLazyListenerRunner",
    "FastAckThreadListenerRunner",
    "SlackBoltImproperlyConfigured",
    "SlackRequestHandler",
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
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES.get(name, ".handler"), __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
