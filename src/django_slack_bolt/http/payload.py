"""Whether Bolt can route a parsed request without tripping over its body.

Bolt trusts the shape of Slack's payloads: its listener matchers and the arguments it injects index
into the body (``body["actions"][0]``, ``body["view"]["type"]``, a pattern searched in a field that
is a number), so a signed body of the wrong shape is a 500 with a traceback. Rather than a table of
what Bolt reads, which could not keep up with Bolt, the probe runs Bolt's own code on the body before
the request is dispatched:

* the ids, URL and token Bolt extracted into the request's context must be strings (they reach
  ``authorize`` and the Web API client), and ``response_url`` an http(s) URL (Bolt posts to it when a
  workspace is not authorized);
* every extractor and predicate of ``slack_bolt.request.payload_utils`` (what argument injection
  and the matchers use: ``to_action``, ``to_view``, ``to_step``, ``is_view_submission`` ...);
* the app's built-in listener matchers (``app.command(...)``, ``app.action(...)`` ...), exactly as
  Bolt will run them.

Whatever raises there is the client's mistake: the handler answers 400 with a short reason. Bolt's own
middleware that reads the payload during dispatch (the assistant's, ``AttachingConversationKwargs``,
``IgnoringSelfEvents``, message keyword matching ...) cannot be run ahead of time; it runs behind a
guard (:class:`~django_slack_bolt.http.bolt_app.GuardedMiddleware`) that answers 400 when it raises.
Custom matchers, middleware and listeners are the user's code: their errors stay on Bolt's error
path, as does the authorization middleware (its errors are the database's or the network's, not the
client's).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.request import payload_utils
from slack_bolt.response import BoltResponse

from .bolt_app import guard_payload_middleware

__all__ = ["PayloadProbe"]

logger = logging.getLogger("django_slack_bolt.request")

# What Bolt's build_context puts in the context from the body, that must be text.
_CONTEXT_TEXT: Final = (
    "enterprise_id",
    "team_id",
    "user_id",
    "actor_enterprise_id",
    "actor_team_id",
    "actor_user_id",
    "channel_id",
    "thread_ts",
    "function_execution_id",
    "function_bot_access_token",
    "response_url",
)


def _takes_only_a_body(function: Callable[..., Any]) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(parameters) and all(p.default is not p.empty for p in parameters[1:])


# Every public extractor and predicate Bolt has for payloads, found at import: a new one in a later
# Bolt release is probed without a change here.
_PAYLOAD_FUNCTIONS: Final[tuple[Callable[[dict[str, Any]], Any], ...]] = tuple(
    function
    for name, function in sorted(vars(payload_utils).items())
    if name.startswith(("to_", "is_"))
    and inspect.isfunction(function)
    and function.__module__ == payload_utils.__name__
    and _takes_only_a_body(function)
)


def _result_of(value: Any) -> Any:
    """``value``, or what a coroutine that never suspends returns: an ``AsyncApp``'s built-in matchers
    are ``async def`` wrappers around the sync ones, and await nothing."""
    if not isinstance(value, Coroutine):
        return value
    try:
        value.send(None)
    except StopIteration as done:
        return done.value
    value.close()
    raise RuntimeError("a built-in listener matcher awaited something")


@dataclass(frozen=True)
class Malformed:
    """Why Bolt would trip over a body: ``reason`` for the client, ``detail`` for the log."""

    reason: str
    detail: str


class PayloadProbe:
    """Runs Bolt's payload code on a request, before dispatch, for the app it was made for."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def _listeners(self) -> Sequence[Any]:
        # Read on every request: listeners may be added after the handler was made.
        listeners: Sequence[Any] = (
            getattr(self._app, "_listeners", None) or getattr(self._app, "_async_listeners", None) or ()
        )
        return listeners

    def _builtin_matchers(self, listeners: Sequence[Any]) -> list[BuiltinListenerMatcher]:
        return [
            matcher
            for listener in listeners
            for matcher in listener.matchers
            if isinstance(matcher, BuiltinListenerMatcher) and matcher.arg_names == ["body"]
        ]

    def problem(self, context: Any, body: dict[str, Any]) -> Malformed | None:
        """Why Bolt would trip over ``body`` (with the ``context`` Bolt built from it); ``None`` if it
        would not, and then the middleware that reads it is guarded for its dispatch."""
        listeners = self._listeners()
        # Bolt's payload-reading middleware of the app and its listeners goes behind a guard (once
        # each; what was added since the last request too).
        guard_payload_middleware(self._app, listeners, _refusal)
        for key in _CONTEXT_TEXT:
            value = context.get(key)
            if value is not None and not isinstance(value, str):
                return Malformed(
                    f"field {key!r} must be a string", f"context[{key!r}] is {type(value).__name__}"
                )
        response_url = context.get("response_url")
        if response_url is not None and not _is_http_url(response_url):
            return Malformed("field 'response_url' must be an http(s) URL", "response_url is not a URL")
        what = _reason(body.get("type"))
        for function in _PAYLOAD_FUNCTIONS:
            try:
                function(body)
            except Exception as error:
                return Malformed(what, f"{function.__name__} raised {type(error).__name__}")
        for matcher in self._builtin_matchers(listeners):
            try:
                _result_of(matcher.func(body=body))
            except Exception as error:
                return Malformed(what, f"a built-in listener matcher raised {type(error).__name__}")
        return None


def _refusal(body: Any, middleware: Any, error: Exception) -> BoltResponse:
    """What a guarded middleware that raised on ``body`` answers: 400, as the probe would."""
    reason = _reason(body.get("type") if isinstance(body, dict) else None)
    logger.info(
        "Refused Slack request with 400: %s (%s raised %s)",
        reason,
        type(middleware).__name__,
        type(error).__name__,
    )
    return BoltResponse(
        status=400, body=json.dumps({"error": reason}), headers={"Content-Type": "application/json"}
    )


def _reason(kind: object) -> str:
    return (
        f"malformed {kind} payload" if isinstance(kind, str) and kind.isidentifier() else "malformed payload"
    )


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
