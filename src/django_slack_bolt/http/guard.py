"""Checks a raw Slack request before Bolt acts on it: size and signature, then the parsed body's shape.

Bolt builds a :class:`~slack_bolt.request.BoltRequest` (and so parses the body) before its
``RequestVerification`` middleware checks the signature, so an unsigned request with a body that is not
UTF-8, not JSON, or JSON of the wrong shape becomes a 500 with a traceback. This module knows nothing of
Django: it takes bytes and a header lookup and says whether the request may go on, and if not, what to
answer. The sync and async handlers share it, through :mod:`django_slack_bolt.http.core`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from .bolt_app import answers_ssl_check, request_verification_secret
from .payload import PayloadProbe

if TYPE_CHECKING:
    # Only for annotations: importing Bolt's async side needs aiohttp, which sync projects may not have.
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

# Slack refuses requests older than five minutes; so does slack_sdk's SignatureVerifier.
MAX_CLOCK_SKEW_SECONDS: Final = 300


@dataclass(frozen=True)
class Rejection:
    """Why a request was refused, and the status to answer with. The reason is safe to show a client."""

    status: int
    reason: str
    # What went wrong in more words, for the log only.
    detail: str = ""

    def json_body(self) -> str:
        return json.dumps({"error": self.reason})


@dataclass(frozen=True)
class GuardedBody:
    """A request body that passed the guard: its text, ready for ``BoltRequest``."""

    text: str
    # Whether the guard checked its signature (not so for ssl_check pings or an app that does not verify).
    signature_verified: bool = False


@dataclass(frozen=True)
class RequestGuard:
    """The checks to run, derived once from the app being served."""

    max_body_size: int
    signing_secret: str | None = field(default=None, repr=False)
    answers_ssl_check: bool = False
    # Bolt's payload code run on each parsed body (None: only the schema checks of parse_request).
    payload_probe: PayloadProbe | None = field(default=None, repr=False, compare=False)
    verifier: SignatureVerifier | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.signing_secret:
            # One verifier for every request; frozen, so set through object.__setattr__.
            object.__setattr__(self, "verifier", SignatureVerifier(signing_secret=self.signing_secret))

    @classmethod
    def for_app(cls, app: App | AsyncApp, *, max_body_size: int) -> RequestGuard:
        """A guard that verifies signatures exactly when ``app`` does (Bolt's ``RequestVerification``).

        ``app`` is an ``App`` or an ``AsyncApp``: their built-in ``AsyncRequestVerification`` and
        ``AsyncSslCheck`` subclass the sync middleware, and read the same settings.
        """
        return cls(
            max_body_size=max_body_size,
            signing_secret=request_verification_secret(app),
            answers_ssl_check=answers_ssl_check(app),
            payload_probe=PayloadProbe(app),
        )

    def check_payload(self, context: Any, body: dict[str, Any]) -> Rejection | None:
        """Refuse a parsed body Bolt would trip over while routing it (see :mod:`.payload`)."""
        if self.payload_probe is None:
            return None
        malformed = self.payload_probe.problem(context, body)
        if malformed is None:
            return None
        return Rejection(400, malformed.reason, detail=malformed.detail)

    def check_size(self, content_length: str | None) -> Rejection | None:
        """Refuse a declared body size over the limit before anything is read."""
        if not content_length:
            return None
        try:
            declared = int(content_length)
        except ValueError:
            return Rejection(400, "invalid content length")
        if declared > self.max_body_size:
            return Rejection(413, "request body too large")
        return None

    def check(
        self, raw_body: bytes, header: Callable[[str], str | None], content_type: str | None
    ) -> GuardedBody | Rejection:
        """Run every check on a body that has been read; ``header`` looks a header up by name."""
        if len(raw_body) > self.max_body_size:
            return Rejection(413, "request body too large")
        try:
            text: str | None = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # Slack's ssl_check pings are answered by Bolt's SslCheck middleware before it verifies
        # anything; they go through unverified, as they do in Bolt.
        is_ssl_check = self.answers_ssl_check and text is not None and _is_ssl_check(text, content_type)
        if (
            self.signing_secret is not None
            and not is_ssl_check
            and not _signature_is_valid(
                self.verifier,
                raw_body,
                text,
                header("X-Slack-Request-Timestamp"),
                header("X-Slack-Signature"),
            )
        ):
            return Rejection(401, "invalid request")
        if text is None:
            return Rejection(400, "request body is not UTF-8")
        return GuardedBody(text, signature_verified=self.signing_secret is not None and not is_ssl_check)


def _is_ssl_check(text: str, content_type: str | None) -> bool:
    """Whether Bolt's SslCheck middleware answers ``text`` itself (it reads ``ssl_check`` and ``token``)."""
    if "ssl_check" not in text:
        return False
    try:
        body = parse_body(text, content_type)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("ssl_check") == "1" and "token" in body


def _signature_is_valid(
    verifier: SignatureVerifier | None,
    raw_body: bytes,
    text: str | None,
    timestamp: str | None,
    signature: str | None,
) -> bool:
    # No verifier: the app verifies with an empty secret, which nothing can match.
    if verifier is None or not timestamp or not signature:
        return False
    # SignatureVerifier calls int() on the timestamp; anything but plain digits would raise there.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    # hmac.compare_digest raises on a str that is not ASCII: such a signature matches nothing.
    if not signature.isascii():
        return False
    if text is not None:
        return verifier.is_valid(text, timestamp, signature)
    # A body that is not UTF-8 cannot be handed to SignatureVerifier (it decodes first), but Slack
    # signs bytes: check those, so a signed-but-malformed body is told apart from an unsigned one.
    if abs(verifier.clock.now() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return False
    secret = verifier.signing_secret.encode()
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw_body, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)


# Fields Bolt reads while building its context and matching listeners, with the JSON types it assumes.
_STRING: Final = "a string"
_OBJECT: Final = "an object"
_OBJECT_OR_STRING: Final = "an object or a string"
_LIST_OF_OBJECTS: Final = "a list of objects"
_FIELD_TYPES: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        (
            "type",
            "command",
            "callback_id",
            "action_id",
            "block_id",
            "team_id",
            "enterprise_id",
            "user_id",
            "channel_id",
            "api_app_id",
            "token",
            "response_url",
            "trigger_id",
            "event_id",
            "bot_access_token",
        ),
        _STRING,
    ),
    **dict.fromkeys(("team", "enterprise", "user", "channel", "container"), _OBJECT_OR_STRING),
    **dict.fromkeys(("event", "view", "message", "function_data", "bot_profile"), _OBJECT),
    **dict.fromkeys(("authorizations", "actions"), _LIST_OF_OBJECTS),
}
# How deep into nested objects the types are checked; Bolt reads no deeper.
_MAX_DEPTH: Final = 2


class ParsedRequest(Protocol):
    """What the guard needs of a parsed request: Bolt's ``BoltRequest`` and ``AsyncBoltRequest`` both fit."""

    body: dict[str, Any]


RequestT = TypeVar("RequestT", bound=ParsedRequest)


def parse_request(text: str, build: Callable[[str], RequestT]) -> RequestT | Rejection:
    """Build Bolt's request from ``text`` with ``build``, refusing a body that Bolt would trip over.

    Bolt parses the body while it builds the request (``slack_bolt.request.internals.parse_body``); a
    body it cannot parse, or whose fields have types Bolt does not expect, is the client's mistake: a 400.
    The body is parsed once, by Bolt; the checks then look at what it parsed.
    """
    try:
        request = build(text)
    except RecursionError:
        return Rejection(400, "request body is nested too deeply")
    except ValueError as e:
        reason = (
            "request body is not valid JSON"
            if isinstance(e, json.JSONDecodeError)
            else "malformed request body"
        )
        return Rejection(400, reason)
    except Exception:  # whatever else Bolt's parser trips on also comes from the client
        return Rejection(400, "malformed request body")
    if not isinstance(request.body, dict):
        return Rejection(400, "request body must be a JSON object")
    problem = _object_problem(request.body, depth=0)
    if problem is not None:
        return Rejection(400, problem)
    return request


def _object_problem(payload: Mapping[str, Any], *, depth: int) -> str | None:
    """The first field of ``payload`` (and of the objects in it) whose JSON type Bolt does not expect."""
    for name, value in payload.items():
        expected = _FIELD_TYPES.get(name)
        if expected is None:
            continue
        nested: list[Any]
        if expected is _STRING:
            # Bolt treats a JSON null like a missing field.
            if value is None or isinstance(value, str):
                continue
            return f"field {name!r} must be a string"
        if expected is _OBJECT_OR_STRING:
            if value is None or isinstance(value, str):
                continue
            if not isinstance(value, dict):
                return f"field {name!r} must be an object or a string"
            nested = [value]
        elif expected is _OBJECT:
            # Bolt reads these as payload.get(name, {}).get(...): a JSON null breaks it as much as a number.
            if not isinstance(value, dict):
                return f"field {name!r} must be an object"
            nested = [value]
        else:
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                return f"field {name!r} must be a list of objects"
            nested = value
        if depth < _MAX_DEPTH:
            for item in nested:
                problem = _object_problem(item, depth=depth + 1)
                if problem is not None:
                    return problem
    return None
