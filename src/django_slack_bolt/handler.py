"""The Django adapter for Bolt for Python: a drop-in for ``slack_bolt.adapter.django.handler``.

::

    from django_slack_bolt.handler import SlackRequestHandler  # was: from slack_bolt.adapter.django.handler

The same names and signatures as Bolt's module. They live in :mod:`django_slack_bolt.http` (the
conversion functions in :mod:`~django_slack_bolt.http.core`, the handler in
:mod:`~django_slack_bolt.http.sync_handler`); this module is the public path to them.
"""

from __future__ import annotations

from .http.core import to_bolt_request, to_django_response
from .http.sync_handler import (
    DjangoListenerCompletionHandler,
    DjangoListenerStartHandler,
    DjangoThreadLazyListenerRunner,
    SlackRequestHandler,
    release_thread_local_connections,
)

__all__ = [
    "DjangoListenerCompletionHandler",
    "DjangoListenerStartHandler",
    "DjangoThreadLazyListenerRunner",
    "SlackRequestHandler",
    "release_thread_local_connections",
    "to_bolt_request",
    "to_django_response",
]
