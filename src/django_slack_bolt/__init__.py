"""django-slack-bolt: host Slack apps built with Bolt for Python in Django.

The adapter API is a drop-in replacement for ``slack_bolt.adapter.django``::

    from django_slack_bolt import SlackRequestHandler  # was: from slack_bolt.adapter.django import ...
"""

from __future__ import annotations

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
