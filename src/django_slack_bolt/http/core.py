"""The request core that both handlers share: it knows Django and Bolt, and nothing of sync or async.

* reading a Django request through the :mod:`~django_slack_bolt.http.guard` into Bolt's request
  (``BoltRequest`` or ``AsyncBoltRequest``: the caller names the class);
* Bolt's response back into a Django response;
* the routing of Bolt's Django adapter (install page, OAuth callback, dispatch, 404);
* the set-up both handlers give an app: the fast-ack runner, the listener start and completion
  handlers.

:mod:`~django_slack_bolt.http.sync_handler` and :mod:`~django_slack_bolt.http.async_handler` are thin
faces over this module: what is left in them is the calls into Bolt, awaited or not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar, cast

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, RawPostDataException
from django.http.request import HttpHeaders
from slack_bolt.error import BoltError
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from .. import conf
from .bolt_app import replace_middleware
from .guard import Rejection, RequestGuard, parse_request
from .unavailable import ALREADY_LOGGED

if TYPE_CHECKING:
    # Only for annotations: importing Bolt's async side needs aiohttp, which sync projects may not have.
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.oauth import OAuthFlow
    from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
    from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = [
    "SIGNATURE_VERIFIED",
    "AppSetup",
    "build_bolt_request",
    "first_header",
    "install_listener_handler",
    "not_found",
    "read_request",
    "request_headers",
    "route",
    "to_bolt_request",
    "to_django_response",
    "use_fast_ack",
]

logger = logging.getLogger("django_slack_bolt.request")

# Set in the context of a request whose signature the guard has checked; clients cannot reach the context.
SIGNATURE_VERIFIED: Final = "django_slack_bolt_signature_verified"

# BoltRequest or AsyncBoltRequest: Bolt's two request classes take the same arguments.
RequestT = TypeVar("RequestT", "BoltRequest", "AsyncBoltRequest")


def to_bolt_request(req: HttpRequest) -> BoltRequest:
    """Convert a Django request to a :class:`BoltRequest` (body as UTF-8 text, query, headers)."""
    raw_body: bytes = req.body
    return build_bolt_request(req, raw_body.decode("utf-8") if raw_body else "", BoltRequest)


# Headers only Bolt itself may set: over HTTP they would let a client pick the lazy listener to run.
_INTERNAL_HEADER_PREFIX: Final = "x-slack-bolt-"
_INTERNAL_META_PREFIX: Final = "HTTP_X_SLACK_BOLT_"

Headers = Mapping[str, "str | Sequence[str]"]


class MalformedHeaders(ValueError):
    """A header mapping whose values are neither strings nor sequences of strings."""


def request_headers(req: HttpRequest) -> Headers:
    """``req``'s headers as Bolt takes them, without any ``X-Slack-Bolt-*`` header a client sent.

    Django's own ``request.headers`` is used as it is (no copy) unless it carries such a header. Code
    written for Bolt's adapter may replace it with a plain dict, in any case, whose values are strings
    or lists (or tuples) of strings: that is normalized the way Bolt normalizes it, tuples included.
    """
    headers = req.headers
    if isinstance(headers, HttpHeaders):
        if not any(key.startswith(_INTERNAL_META_PREFIX) for key in req.META):
            return cast("Headers", headers)
        lowered = ((name.lower(), value) for name, value in headers.items())
        return {name: value for name, value in lowered if not name.startswith(_INTERNAL_HEADER_PREFIX)}
    normalized: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered = str(name).lower()
        if lowered.startswith(_INTERNAL_HEADER_PREFIX):
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not all(isinstance(item, str) for item in values):
            raise MalformedHeaders(f"header {name!r} is neither a string nor a list of strings")
        normalized[lowered] = list(values)
    return normalized


def first_header(headers: Headers, name: str) -> str | None:
    """The first value of the header ``name`` (any case) in ``headers`` from :func:`request_headers`."""
    # Django's HttpHeaders ignores case itself; a normalized dict has lower-case names.
    value = headers.get(name if isinstance(headers, HttpHeaders) else name.lower())
    if value is None or isinstance(value, str):
        return value
    return value[0] if value else None


def build_bolt_request(
    req: HttpRequest,
    body: str,
    request_class: type[RequestT],
    *,
    signature_verified: bool = False,
    headers: Headers | None = None,
) -> RequestT:
    """``request_class`` (``BoltRequest`` or ``AsyncBoltRequest``) for ``req`` with ``body`` as its text.

    ``signature_verified`` marks a request whose signature the guard has checked, in its context;
    ``headers`` are ``req``'s from :func:`request_headers`, when the caller has them already.
    """
    return request_class(
        body=body,
        query=req.META.get("QUERY_STRING", ""),
        headers=cast("dict[str, str | Sequence[str]]", request_headers(req) if headers is None else headers),
        context={SIGNATURE_VERIFIED: True} if signature_verified else None,
    )


def read_request(
    req: HttpRequest, guard: RequestGuard, request_class: type[RequestT]
) -> RequestT | HttpResponse:
    """The Bolt request for ``req`` if it passes ``guard``, else the 4xx response that refuses it.

    Size first (from ``Content-Length``, before the body is read), then the signature, then the body's
    shape: Bolt only ever sees a request that is signed (when the app verifies) and well formed.
    Synchronous for both handlers: under ASGI Django has read the whole body before the view runs, and
    the checks are CPU work with nothing to wait for.
    """
    rejection = guard.check_size(req.META.get("CONTENT_LENGTH"))
    if rejection is not None:
        return _rejected(req, rejection)
    try:
        raw_body = req.body
    except RequestDataTooBig:
        return _rejected(req, Rejection(413, "request body too large"))
    except RawPostDataException:
        return _rejected(req, Rejection(400, "request body was already read"))
    try:
        headers = request_headers(req)
    except MalformedHeaders:
        return _rejected(req, Rejection(400, "malformed request headers"))
    # The media type as Bolt reads it (extract_content_type), to parse the body as Bolt will.
    content_type = (first_header(headers, "content-type") or "").split(";")[0] or None
    outcome = guard.check(raw_body, lambda name: first_header(headers, name), content_type)
    if isinstance(outcome, Rejection):
        return _rejected(req, outcome)
    verified = outcome.signature_verified
    parsed = parse_request(
        outcome.text,
        lambda text: build_bolt_request(
            req, text, request_class, signature_verified=verified, headers=headers
        ),
    )
    if isinstance(parsed, Rejection):
        return _rejected(req, parsed)
    rejection = guard.check_payload(parsed.context, parsed.body)
    if rejection is not None:
        return _rejected(req, rejection)
    return parsed


Route = Literal["install", "oauth_redirect", "dispatch"]


def route(req: HttpRequest, oauth_flow: OAuthFlow | AsyncOAuthFlow | None) -> Route | None:
    """Where Bolt's Django adapter sends ``req``: GET on the OAuth flow's install path or redirect URI
    path, POST to the app; ``None`` for anything else (a 404)."""
    if req.method == "POST":
        return "dispatch"
    if req.method == "GET" and oauth_flow is not None:
        if req.path == oauth_flow.install_path:
            return "install"
        if req.path == oauth_flow.redirect_uri_path:
            return "oauth_redirect"
    return None


def not_found() -> HttpResponse:
    """The answer to a request neither handler serves, as Bolt's adapter gives it."""
    return HttpResponse(status=404, content=b"Not Found")


def to_django_response(bolt_resp: BoltResponse) -> HttpResponse:
    """Convert a :class:`BoltResponse` to a Django response: status, body, headers and cookies."""
    resp = HttpResponse(status=bolt_resp.status, content=bolt_resp.body.encode("utf-8"))
    for name, value in bolt_resp.first_headers_without_set_cookie().items():
        resp[name] = value
    for cookie in bolt_resp.cookies():
        for name, morsel in cookie.items():
            max_age = morsel.get("max-age")
            resp.set_cookie(
                key=name,
                value=morsel.value,
                expires=morsel.get("expires") or None,
                max_age=int(max_age) if max_age else None,
                domain=morsel.get("domain") or None,
                path=morsel.get("path") or "/",
                # Keep the cookie's own flags (Bolt's adapter forces Secure and HttpOnly on every cookie).
                secure=bool(morsel.get("secure")),
                httponly=bool(morsel.get("httponly")),
                samesite=morsel.get("samesite") or None,
            )
    if getattr(bolt_resp, ALREADY_LOGGED, False):
        resp._has_been_logged = True  # type: ignore[attr-defined]  # see http.unavailable
    return resp


def _rejected(req: HttpRequest, rejection: Rejection) -> HttpResponse:
    # A client's mistake: one INFO line, never a traceback.
    logger.info(
        "Refused Slack request to %s with %s: %s%s",
        req.path,
        rejection.status,
        rejection.reason,
        f" ({rejection.detail})" if rejection.detail else "",
    )
    return HttpResponse(rejection.json_body(), status=rejection.status, content_type="application/json")


# --- setting an app up: what SlackRequestHandler and AsyncSlackRequestHandler both do -------------


class _FastAckRunner(Protocol):
    @classmethod
    def from_runner(cls, runner: Any) -> Any: ...


class _Wrapping(Protocol):
    def __init__(self, wrapped: Any) -> None: ...


class _Preverified(Protocol):
    @classmethod
    def replacing(cls, original: Any) -> Any: ...


def use_fast_ack(fast_ack: bool | None) -> bool:
    """A handler's ``fast_ack`` argument, else ``SLACK_BOLT["FAST_ACK"]``."""
    return bool(conf.get_setting("FAST_ACK")) if fast_ack is None else fast_ack


@dataclass(frozen=True)
class AppSetup:
    """The Bolt classes a handler puts in, or expects in, the kind of app it serves."""

    # Bolt's listener runner (all the adapter works with) and ours with fast ack.
    bolts_runner: type
    fast_ack_runner: type[_FastAckRunner]
    # Where the app keeps its runner: Bolt exposes it read-only, and reads it on every dispatch.
    runner_attribute: str
    # Bolt's signature-verifying middleware, and ours that trusts the guard's check.
    verification: type
    preverified: type[_Preverified]
    # Where the app keeps its middleware error handler, and ours that answers set-up failures with 503
    # (http.unavailable) and passes every other error on to the one it wraps.
    error_handler_attribute: str
    unavailable_handler: type[_Wrapping]

    def prepare(self, app: App | AsyncApp, *, fast_ack: bool | None) -> tuple[Any, RequestGuard]:
        """Check ``app``'s runner, then set the app up: its guard, Bolt's second signature check
        replaced, set-up failures answered with 503, the fast-ack runner (when ``fast_ack``, else
        ``SLACK_BOLT["FAST_ACK"]``).

        The runner that will serve the app, and the guard for its requests.
        """
        runner = app.listener_runner
        if not isinstance(runner, self.bolts_runner):
            raise BoltError(
                "Custom listener_runners are not compatible with this Django adapter: "
                f"django_slack_bolt needs a slack_bolt {self.bolts_runner.__name__}."
            )
        guard = RequestGuard.for_app(app, max_body_size=conf.max_body_size())
        # The guard checks every signature before Bolt sees the request; Bolt need not do it again.
        replace_middleware(app, self.verification, self.preverified.replacing)
        current = getattr(app, self.error_handler_attribute)
        if not isinstance(current, self.unavailable_handler):
            setattr(app, self.error_handler_attribute, self.unavailable_handler(current))
        return self._with_fast_ack_runner(app, runner, enabled=use_fast_ack(fast_ack)), guard

    def _with_fast_ack_runner(self, app: App | AsyncApp, runner: Any, *, enabled: bool) -> Any:
        # Only exactly Bolt's runner is swapped: a subclass of the user's own is kept, and said so.
        if enabled and type(runner) is self.bolts_runner:
            fast = self.fast_ack_runner.from_runner(runner)
            setattr(app, self.runner_attribute, fast)
            return fast
        if enabled and not isinstance(runner, self.fast_ack_runner):
            app.logger.info(
                f"app.listener_runner is a custom {self.bolts_runner.__name__} subclass; "
                "django_slack_bolt keeps it and does not install its fast-ack runner."
            )
        return runner


def install_listener_handler(
    app: App | AsyncApp,
    runner: object,
    kind: Literal["start", "completion"],
    *,
    replaceable: type,
    ours: type,
    kept_message: str,
) -> bool:
    """Set ``runner.listener_<kind>_handler`` to ``ours()`` unless it is the user's own (not Bolt's
    ``replaceable`` default): then log ``kept_message`` and leave it. Whether ours is installed."""
    attribute = f"listener_{kind}_handler"
    current = getattr(runner, attribute)
    if current is not None and not isinstance(current, (replaceable, ours)):
        app.logger.info(kept_message)
        return False
    setattr(runner, attribute, ours())
    app.logger.debug(f"{ours.__name__} has been enabled")
    return True
