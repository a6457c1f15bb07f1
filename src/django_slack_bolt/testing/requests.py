"""Builders for signed Slack requests: what Slack would POST to your Request URL.

Each builder returns a :class:`SlackRequest` with a realistic payload (the shapes Slack sends, with
fake but well-formed ids) signed with Slack's v0 scheme. Send it through Django's test client, or
build a request with :class:`~django.test.RequestFactory`::

    from django_slack_bolt.testing import slash_command

    request = slash_command("/echo", "hi", signing_secret="my-secret")
    response = request.post(client, "/slack/events")  # client: a django.test.Client
    assert response.content == b"echo: hi"

``signing_secret`` is a required keyword everywhere; pass ``None`` for an unsigned request.
Negative tests derive from a good request: ``request.unsigned()``, ``request.signed(secret,
timestamp=0)`` (stale), ``request.with_headers({"X-Slack-Signature": "v0=bad"})``, or
``dataclasses.replace(request, body=...)`` (a tampered body with the original signature).

Most tests do not call these directly: :class:`~django_slack_bolt.testing.SlackTestClient` signs with
the app's own secret and posts in one call.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, overload
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIRequest
    from django.test import Client, RequestFactory
    from django.test.client import _MonkeyPatchedWSGIResponse

__all__ = [
    "DEFAULT_API_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_CHANNEL_NAME",
    "DEFAULT_EVENTS_PATH",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_USER_ID",
    "DEFAULT_USER_NAME",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SlackRequest",
    "app_mention",
    "block_action",
    "block_suggestion",
    "event",
    "global_shortcut",
    "interactive",
    "message",
    "message_shortcut",
    "options",
    "sign",
    "slash_command",
    "url_verification",
    "view_submission",
]

# Obviously fake but well-formed ids, shared with FakeSlack's answers (auth.test, chat.postMessage).
DEFAULT_TEAM_ID: Final = "T00000001"
DEFAULT_TEAM_DOMAIN: Final = "fake-workspace"
DEFAULT_USER_ID: Final = "U00000001"
DEFAULT_USER_NAME: Final = "test-user"
DEFAULT_CHANNEL_ID: Final = "C00000001"
DEFAULT_CHANNEL_NAME: Final = "general"
DEFAULT_API_APP_ID: Final = "A00000001"
DEFAULT_BOT_ID: Final = "B00000001"
DEFAULT_BOT_USER_ID: Final = "U0000B0T1"
# Slack still sends the deprecated verification token; Bolt ignores it.
_VERIFICATION_TOKEN: Final = "fake-verification-token"

DEFAULT_EVENTS_PATH: Final = "/slack/events"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE: Final = "application/json"
TIMESTAMP_HEADER: Final = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER: Final = "X-Slack-Signature"

_counter = itertools.count(1)


def sign(body: str, signing_secret: str, timestamp: float | str | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for ``body``: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``.

    ``timestamp`` (seconds since the epoch) defaults to now; an old one makes a stale request::

        headers = sign('{"type": "url_verification"}', "my-secret")
        headers = sign(body, "my-secret", timestamp=time.time() - 3600)  # refused as a replay
    """
    ts = str(int(time.time() if timestamp is None else float(timestamp)))
    signature = SignatureVerifier(signing_secret=signing_secret).generate_signature(timestamp=ts, body=body)
    if signature is None:  # pragma: no cover - only for a None timestamp, excluded above
        raise ValueError("slack_sdk could not sign the request")
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: signature}


@dataclass(frozen=True)
class SlackRequest:
    """A request as Slack sends it: the raw ``body``, its ``content_type`` and the Slack ``headers``.

    Immutable; the ``with_*``/``signed``/``unsigned`` helpers return changed copies::

        request = slash_command("/echo", "hi", signing_secret="my-secret")
        response = request.post(client, "/slack/events")
        django_request = request.post(RequestFactory(), "/slack/events")
        forged = request.with_headers({"X-Slack-Signature": "v0=" + "0" * 64})
    """

    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def timestamp(self) -> str | None:
        """The ``X-Slack-Request-Timestamp`` header, if signed."""
        return self.headers.get(TIMESTAMP_HEADER)

    @property
    def signature(self) -> str | None:
        """The ``X-Slack-Signature`` header, if signed."""
        return self.headers.get(SIGNATURE_HEADER)

    @property
    def payload(self) -> dict[str, Any]:
        """The body as Bolt reads it: the JSON object, the decoded ``payload=`` field, or the form."""
        if self.content_type == JSON_CONTENT_TYPE:
            decoded: dict[str, Any] = json.loads(self.body)
            return decoded
        form = dict(parse_qsl(self.body, keep_blank_values=True))
        if "payload" in form:
            interactive_payload: dict[str, Any] = json.loads(form["payload"])
            return interactive_payload
        return dict(form)

    @property
    def meta(self) -> dict[str, Any]:
        """The headers as WSGI ``META`` keys (``HTTP_X_SLACK_SIGNATURE``...), for ``RequestFactory``."""
        return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in self.headers.items()}

    def signed(self, signing_secret: str, *, timestamp: float | str | None = None) -> SlackRequest:
        """A copy signed with ``signing_secret`` at ``timestamp`` (now by default)."""
        return self.with_headers(sign(self.body, signing_secret, timestamp))

    def unsigned(self) -> SlackRequest:
        """A copy without the timestamp and signature headers."""
        return self.with_headers({TIMESTAMP_HEADER: None, SIGNATURE_HEADER: None})

    def with_headers(self, headers: Mapping[str, str | None]) -> SlackRequest:
        """A copy with ``headers`` added or replaced; a ``None`` value removes that header."""
        merged = dict(self.headers)
        for name, value in headers.items():
            merged = {key: val for key, val in merged.items() if key.lower() != name.lower()}
            if value is not None:
                merged[name] = value
        return dataclasses.replace(self, headers=merged)

    @overload
    def post(self, client: Client, path: str = ...) -> _MonkeyPatchedWSGIResponse: ...

    @overload
    def post(self, client: RequestFactory, path: str = ...) -> WSGIRequest: ...

    def post(self, client: Client | RequestFactory, path: str = DEFAULT_EVENTS_PATH) -> Any:
        """POST through Django's test ``client`` (the response) or build it with a ``RequestFactory``."""
        return client.post(path, data=self.body, content_type=self.content_type, headers=self.headers)


def _build(
    body: str, content_type: str, signing_secret: str | None, timestamp: float | str | None
) -> SlackRequest:
    request = SlackRequest(body=body, content_type=content_type)
    return request if signing_secret is None else request.signed(signing_secret, timestamp=timestamp)


def interactive(
    payload: Mapping[str, Any], *, signing_secret: str | None, timestamp: float | str | None = None
) -> SlackRequest:
    """Any interactive payload (``view_closed``, ``dialog_submission``...) form-encoded as ``payload=``."""
    return _build(urlencode({"payload": json.dumps(payload)}), FORM_CONTENT_TYPE, signing_secret, timestamp)


def _json(
    payload: Mapping[str, Any], signing_secret: str | None, timestamp: float | str | None
) -> SlackRequest:
    return _build(json.dumps(payload), JSON_CONTENT_TYPE, signing_secret, timestamp)


_last_ts_micros = 0
_ts_lock = threading.Lock()


def _now_ts() -> str:
    """A message timestamp (``"1700000000.000123"``): the current time in microseconds, as Slack's.

    Strictly increasing within the process; from the clock, so two processes do not hand out the same
    run of values (an app that deduplicates on channel and ts would take the second for a retry).
    """
    global _last_ts_micros
    with _ts_lock:
        _last_ts_micros = max(time.time_ns() // 1000, _last_ts_micros + 1)
        seconds, micros = divmod(_last_ts_micros, 1_000_000)
    return f"{seconds}.{micros:06d}"


def _trigger_id() -> str:
    return f"{next(_counter)}.{int(time.time())}.{secrets.token_hex(16)}"


def _response_url(kind: str, team_id: str) -> str:
    return f"https://hooks.slack.com/{kind}/{team_id}/{next(_counter)}/{secrets.token_urlsafe(18)}"


def _team(team_id: str, team_domain: str, enterprise_id: str | None) -> dict[str, Any]:
    team: dict[str, Any] = {"id": team_id, "domain": team_domain}
    if enterprise_id is not None:
        team.update(enterprise_id=enterprise_id, enterprise_name="Fake Enterprise")
    return team


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _enterprise(enterprise_id: str | None) -> dict[str, Any] | None:
    return None if enterprise_id is None else {"id": enterprise_id, "name": "Fake Enterprise"}


def _rich_text(text: str) -> list[dict[str, Any]]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": secrets.token_hex(2), "elements": [section]}]


def _message(text: str, *, user_id: str, team_id: str, ts: str | None = None) -> dict[str, Any]:
    ts = ts or _now_ts()
    return {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts,
        "team": team_id,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": _rich_text(text),
    }


def slash_command(
    command: str,
    text: str = "",
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: str,
) -> SlackRequest:
    """A slash command (form-encoded, as Slack sends it); ``extra`` adds or replaces form fields.

    ::

        request = slash_command("/deploy", "api production", signing_secret="my-secret", user_id="U0ALICE")
    """
    form: dict[str, str] = {
        "token": _VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _response_url("commands", team_id),
        "trigger_id": trigger_id or _trigger_id(),
    }
    if enterprise_id is not None:
        form.update(enterprise_id=enterprise_id, enterprise_name="Fake Enterprise")
    form.update(extra)
    return _build(urlencode(form), FORM_CONTENT_TYPE, signing_secret, timestamp)


def event(
    event: Mapping[str, Any],
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    enterprise_id: str | None = None,
    api_app_id: str = DEFAULT_API_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """An Events API ``event_callback`` wrapping ``event`` (JSON, with ``authorizations``).

    ``event_ts`` is added to ``event`` when missing; ``extra`` adds or replaces envelope fields::

        request = event(
            {"type": "reaction_added", "user": "U00000001", "reaction": "tada",
             "item": {"type": "message", "channel": "C00000001", "ts": "1700000000.000100"}},
            signing_secret="my-secret",
        )
    """
    inner = dict(event)
    inner.setdefault("event_ts", inner.get("ts") or _now_ts())
    now = int(time.time())
    envelope: dict[str, Any] = {
        "token": _VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_counter):08d}",
        "event_time": now if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
    if enterprise_id is not None:
        envelope["enterprise_id"] = enterprise_id
    envelope.update(extra)
    return _json(envelope, signing_secret, timestamp)


def app_mention(
    text: str,
    *,
    signing_secret: str | None,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    team_id: str = DEFAULT_TEAM_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    thread_ts: str | None = None,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """An ``app_mention`` event; ``text`` gets a leading ``<@bot_user_id>`` unless it mentions the bot.

    ::

        request = app_mention("what's the weather?", signing_secret="my-secret")
        # event text: "<@U0000B0T1> what's the weather?"
    """
    mention = f"<@{bot_user_id}>"
    full_text = text if mention in text else f"{mention} {text}"
    inner = _message(full_text, user_id=user_id, team_id=team_id)
    inner.update(type="app_mention", channel=channel_id, event_ts=inner["ts"])
    if thread_ts is not None:
        inner["thread_ts"] = thread_ts
    return event(
        inner,
        signing_secret=signing_secret,
        team_id=team_id,
        bot_user_id=bot_user_id,
        timestamp=timestamp,
        **envelope,
    )


def message(
    text: str,
    *,
    signing_secret: str | None,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_type: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    thread_ts: str | None = None,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """A ``message`` event (what ``@app.message(...)`` listens to) posted by ``user_id`` in ``channel_id``.

    ``channel_type`` defaults from the id: ``im`` for ``D...``, ``group`` for ``G...``, else ``channel``::

        request = message("hello bot", signing_secret="my-secret", channel_id="D00000001")
    """
    inner = _message(text, user_id=user_id, team_id=team_id)
    inferred = {"D": "im", "G": "group"}.get(channel_id[:1], "channel")
    inner.update(channel=channel_id, event_ts=inner["ts"], channel_type=channel_type or inferred)
    if thread_ts is not None:
        inner["thread_ts"] = thread_ts
    return event(inner, signing_secret=signing_secret, team_id=team_id, timestamp=timestamp, **envelope)


def _view(
    *,
    callback_id: str,
    team_id: str,
    api_app_id: str,
    view_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    values: Mapping[str, Any] | None = None,
    private_metadata: str = "",
) -> dict[str, Any]:
    view_id = view_id or f"V{next(_counter):08d}"
    return {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": dict(values or {})},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": {"type": "plain_text", "text": "Fake Modal", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": DEFAULT_BOT_ID,
    }


def block_action(
    action_id: str,
    value: str | None = None,
    *,
    signing_secret: str | None,
    block_id: str = "actions",
    action_type: str = "button",
    action: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A ``block_actions`` payload for one action (a button click by default) on a message.

    ``action`` adds or replaces fields of the action (``{"selected_option": {...}}`` for a select);
    with ``view`` the action happened in that modal instead (no channel, message or response URL)::

        request = block_action("approve", "PR-42", signing_secret="my-secret", block_id="review")
    """
    action_payload: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": _now_ts(),
    }
    if action_type == "button":
        action_payload["text"] = {"type": "plain_text", "text": "Click", "emoji": True}
    if value is not None:
        action_payload["value"] = value
    action_payload.update(action or {})
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": _VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "team": _team(team_id, team_domain, enterprise_id),
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [action_payload],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "")}
        payload["view"] = dict(view)
    else:
        message_ts = _now_ts()
        button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "Click"}}
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        payload["message"] = {
            "type": "message",
            "user": DEFAULT_BOT_USER_ID,
            "bot_id": DEFAULT_BOT_ID,
            "text": "A message with a button",
            "ts": message_ts,
            "team": team_id,
            "blocks": [{"type": "actions", "block_id": block_id, "elements": [button]}],
        }
        payload["response_url"] = response_url or _response_url("actions", team_id)
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def _state_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        state[block_id] = {
            action_id: {"type": "plain_text_input", "value": value} if isinstance(value, str) else dict(value)
            for action_id, value in actions.items()
        }
    return state


def _input_blocks(state: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "optional": False,
            "element": {"type": element.get("type", "plain_text_input"), "action_id": action_id},
        }
        for block_id, actions in state.items()
        for action_id, element in actions.items()
    ]


def view_submission(
    callback_id: str,
    values: Mapping[str, Any] | None = None,
    *,
    signing_secret: str | None,
    private_metadata: str = "",
    view_id: str | None = None,
    response_urls: list[dict[str, str]] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A ``view_submission`` of the modal ``callback_id`` with ``view.state.values`` from ``values``.

    ``values`` maps block ids to action ids to element states; a string is shorthand for a
    ``plain_text_input`` value. The view gets an input block for each::

        request = view_submission(
            "feedback",
            {"comment": {"text": "Great!"},
             "rating": {"stars": {"type": "static_select", "selected_option": {"value": "5"}}}},
            signing_secret="my-secret",
        )
    """
    state = _state_values(values or {})
    view = _view(
        callback_id=callback_id,
        team_id=team_id,
        api_app_id=api_app_id,
        view_id=view_id,
        blocks=_input_blocks(state),
        values=state,
        private_metadata=private_metadata,
    )
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": _VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": view,
        "response_urls": list(response_urls or []),
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": False,
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def global_shortcut(
    callback_id: str,
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A global ``shortcut`` (from the shortcuts menu; no channel, no response URL).

    ::

        request = global_shortcut("open_ticket", signing_secret="my-secret")
    """
    payload: dict[str, Any] = {
        "type": "shortcut",
        "token": _VERIFICATION_TOKEN,
        "action_ts": _now_ts(),
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "is_enterprise_install": False,
        "enterprise": _enterprise(enterprise_id),
        "callback_id": callback_id,
        "trigger_id": trigger_id or _trigger_id(),
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def message_shortcut(
    callback_id: str,
    message: Mapping[str, Any] | None = None,
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str | None = None,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A ``message_action`` (a shortcut on ``message``; by default a message of another user).

    ::

        request = message_shortcut("save_note", {"type": "message", "text": "remember this",
                                                 "user": "U00000002", "ts": "1700000000.000100"},
                                    signing_secret="my-secret")
    """
    target = (
        dict(message) if message is not None else _message("A message", user_id="U00000002", team_id=team_id)
    )
    target.setdefault("ts", _now_ts())
    payload: dict[str, Any] = {
        "type": "message_action",
        "token": _VERIFICATION_TOKEN,
        "action_ts": _now_ts(),
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": _enterprise(enterprise_id),
        "callback_id": callback_id,
        "trigger_id": trigger_id or _trigger_id(),
        "response_url": response_url or _response_url("app", team_id),
        "message_ts": target["ts"],
        "message": target,
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def options(
    action_id: str,
    value: str = "",
    *,
    signing_secret: str | None,
    block_id: str = "select",
    callback_id: str = "modal",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A ``block_suggestion``: a user typed ``value`` into the external select ``action_id`` of a modal.

    ::

        request = options("pick_repo", "djan", signing_secret="my-secret")
    """
    element = {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Select an item"},
    }
    block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Pick"},
        "element": element,
    }
    view = _view(callback_id=callback_id, team_id=team_id, api_app_id=api_app_id, blocks=[block])
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": _user(user_id, user_name, team_id),
        "container": {"type": "view", "view_id": view["id"]},
        "api_app_id": api_app_id,
        "token": _VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": _team(team_id, team_domain, enterprise_id),
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": False,
        "view": view,
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def url_verification(
    challenge: str | None = None, *, signing_secret: str | None, timestamp: float | str | None = None
) -> SlackRequest:
    """The ``url_verification`` handshake Slack sends when the Request URL is saved.

    ::

        request = url_verification("abc123", signing_secret="my-secret")  # answer: {"challenge": "abc123"}
    """
    payload = {
        "token": _VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(32),
        "type": "url_verification",
    }
    return _json(payload, signing_secret, timestamp)


block_suggestion = options
"""Alias of :func:`options`, as Bolt has ``app.options`` and ``app.block_suggestion``."""


def view_closed(
    callback_id: str,
    *,
    signing_secret: str | None,
    view_id: str | None = None,
    is_cleared: bool = False,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A ``view_closed``: the user closed the modal ``callback_id`` (sent when it has ``notify_on_close``).

    ::

        request = view_closed("feedback", signing_secret="my-secret")
    """
    view = _view(callback_id=callback_id, team_id=team_id, api_app_id=api_app_id, view_id=view_id)
    view["notify_on_close"] = True
    payload: dict[str, Any] = {
        "type": "view_closed",
        "team": _team(team_id, team_domain, enterprise_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": _VERIFICATION_TOKEN,
        "view": view,
        "is_cleared": is_cleared,
        "enterprise": _enterprise(enterprise_id),
        "is_enterprise_install": False,
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def attachment_action(
    callback_id: str,
    name: str,
    value: str = "",
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str | None = None,
    trigger_id: str | None = None,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """An ``interactive_message``: a click on the legacy attachment button ``name`` (``app.action``
    with ``{"type": "interactive_message", "callback_id": ...}``, or ``app.attachment_action``).

    ::

        request = attachment_action("approval", "approve", "yes", signing_secret="my-secret")
    """
    payload: dict[str, Any] = {
        "type": "interactive_message",
        "actions": [{"name": name, "type": "button", "value": value}],
        "callback_id": callback_id,
        "team": {"id": team_id, "domain": team_domain},
        "channel": {"id": channel_id, "name": channel_name},
        "user": {"id": user_id, "name": user_name},
        "action_ts": _now_ts(),
        "message_ts": _now_ts(),
        "attachment_id": "1",
        "token": _VERIFICATION_TOKEN,
        "is_app_unfurl": False,
        "response_url": response_url or _response_url("actions", team_id),
        "trigger_id": trigger_id or _trigger_id(),
    }
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def _dialog(
    kind: str,
    callback_id: str,
    fields: Mapping[str, Any],
    signing_secret: str | None,
    team_id: str,
    team_domain: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    timestamp: float | str | None,
    extra: Mapping[str, Any],
) -> SlackRequest:
    payload: dict[str, Any] = {
        "type": kind,
        "token": _VERIFICATION_TOKEN,
        "action_ts": _now_ts(),
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user_id, "name": user_name},
        "channel": {"id": channel_id, "name": channel_name},
        "callback_id": callback_id,
        "state": "",
        **fields,
    }
    if kind != "dialog_suggestion":
        payload["response_url"] = _response_url("app", team_id)
    payload.update(extra)
    return interactive(payload, signing_secret=signing_secret, timestamp=timestamp)


def dialog_submission(
    callback_id: str,
    submission: Mapping[str, str] | None = None,
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A legacy ``dialog_submission`` with the ``submission`` fields (``app.dialog_submission``).

    ::

        request = dialog_submission("ticket", {"title": "Printer on fire"}, signing_secret="my-secret")
    """
    fields = {"submission": dict(submission or {})}
    return _dialog(
        "dialog_submission", callback_id, fields, signing_secret, team_id, team_domain, user_id,
        user_name, channel_id, channel_name, timestamp, extra,
    )  # fmt: skip


def dialog_cancellation(
    callback_id: str,
    *,
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A legacy ``dialog_cancellation`` (``app.dialog_cancellation``)."""
    return _dialog(
        "dialog_cancellation", callback_id, {}, signing_secret, team_id, team_domain, user_id,
        user_name, channel_id, channel_name, timestamp, extra,
    )  # fmt: skip


def dialog_suggestion(
    callback_id: str,
    value: str = "",
    *,
    name: str = "select",
    signing_secret: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    timestamp: float | str | None = None,
    **extra: Any,
) -> SlackRequest:
    """A legacy ``dialog_suggestion``: a user typed ``value`` into the external select ``name``
    (``app.dialog_suggestion``, or ``app.options`` with ``{"callback_id": ...}``)."""
    return _dialog(
        "dialog_suggestion", callback_id, {"name": name, "value": value}, signing_secret, team_id,
        team_domain, user_id, user_name, channel_id, channel_name, timestamp, extra,
    )  # fmt: skip


def function_executed(
    callback_id: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    signing_secret: str | None,
    function_execution_id: str | None = None,
    bot_access_token: str = "xwfp-fake-function-token",
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_API_APP_ID,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """A ``function_executed`` event: a workflow step runs the app's custom function ``callback_id``
    (``app.function(callback_id)``), with ``inputs`` and a ``bot_access_token`` for this run.

    ::

        request = function_executed("sample_function", {"user_id": "U00000001"}, signing_secret="my-secret")
    """
    inner = {
        "type": "function_executed",
        "function": {
            "id": f"Fn{next(_counter):08d}",
            "callback_id": callback_id,
            "title": callback_id,
            "type": "app",
            "app_id": api_app_id,
            "date_created": int(time.time()),
            "date_updated": int(time.time()),
            "input_parameters": [],
            "output_parameters": [],
        },
        "inputs": dict(inputs or {}),
        "function_execution_id": function_execution_id or f"Fx{next(_counter):08d}",
        "workflow_execution_id": f"Wx{next(_counter):08d}",
        "event_ts": _now_ts(),
        "bot_access_token": bot_access_token,
    }
    return event(
        inner, signing_secret=signing_secret, team_id=team_id, api_app_id=api_app_id, timestamp=timestamp,
        **envelope,
    )  # fmt: skip


def assistant_thread_started(
    *,
    signing_secret: str | None,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = "D00000001",
    thread_ts: str | None = None,
    context: Mapping[str, Any] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """An ``assistant_thread_started`` event: a user opened a thread with the app's assistant
    (Bolt's ``Assistant`` middleware, ``@assistant.thread_started``).

    ::

        request = assistant_thread_started(signing_secret="my-secret")
    """
    return _assistant_thread_event(
        "assistant_thread_started", signing_secret, user_id, channel_id, thread_ts, context, team_id,
        timestamp, envelope,
    )  # fmt: skip


def assistant_thread_context_changed(
    *,
    signing_secret: str | None,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = "D00000001",
    thread_ts: str | None = None,
    context: Mapping[str, Any] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """An ``assistant_thread_context_changed`` event: the user moved to another channel while the
    assistant thread is open (``@assistant.thread_context_changed``)."""
    return _assistant_thread_event(
        "assistant_thread_context_changed", signing_secret, user_id, channel_id, thread_ts, context,
        team_id, timestamp, envelope,
    )  # fmt: skip


def _assistant_thread_event(
    kind: str,
    signing_secret: str | None,
    user_id: str,
    channel_id: str,
    thread_ts: str | None,
    context: Mapping[str, Any] | None,
    team_id: str,
    timestamp: float | str | None,
    envelope: Mapping[str, Any],
) -> SlackRequest:
    inner = {
        "type": kind,
        "assistant_thread": {
            "user_id": user_id,
            "context": dict(context or {"channel_id": DEFAULT_CHANNEL_ID, "team_id": team_id}),
            "channel_id": channel_id,
            "thread_ts": thread_ts or _now_ts(),
        },
        "event_ts": _now_ts(),
    }
    return event(inner, signing_secret=signing_secret, team_id=team_id, timestamp=timestamp, **envelope)


def app_home_opened(
    *,
    signing_secret: str | None,
    user_id: str = DEFAULT_USER_ID,
    tab: str = "home",
    team_id: str = DEFAULT_TEAM_ID,
    timestamp: float | str | None = None,
    **envelope: Any,
) -> SlackRequest:
    """An ``app_home_opened`` event: ``user_id`` opened the app's ``tab`` (``home`` or ``messages``)."""
    inner = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D00000001",
        "tab": tab,
        "event_ts": _now_ts(),
    }
    return event(inner, signing_secret=signing_secret, team_id=team_id, timestamp=timestamp, **envelope)
