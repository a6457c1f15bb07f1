"""Anything a client can send gets a clear 4xx, never a 500 or a logged traceback."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import (
    SlackRequest,
    app_mention,
    block_action,
    sign,
    slash_command,
    url_verification,
)

from .support import SIGNING_SECRET, make_app

EVENTS = "/slack/events"
FORM = "application/x-www-form-urlencoded"

MALFORMED_BODIES = [
    pytest.param(b"\xff\xfe\xfa not utf-8", FORM, id="invalid-utf8"),
    pytest.param(b"{not json", "application/json", id="invalid-json"),
    pytest.param(b"[1, 2, 3]", "application/json", id="json-array"),
    pytest.param(b'"a string"', "application/json", id="json-string"),
    pytest.param(b"payload=%5B1%2C2%5D", FORM, id="payload-array"),
    pytest.param(b"payload=%7Bbroken", FORM, id="payload-invalid-json"),
    pytest.param(
        b'{"type": "event_callback", "event": "not-an-object"}', "application/json", id="event-string"
    ),
    pytest.param(b'{"type": 5}', "application/json", id="type-number"),
    pytest.param(b'{"authorizations": {"team_id": "T1"}}', "application/json", id="authorizations-object"),
    pytest.param(b'{"team": 12}', "application/json", id="team-number"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", id="deep-nesting"),
]


def _sign_bytes(body: bytes) -> dict[str, str]:
    """Slack's v0 signature headers for a raw ``body``, for MALFORMED_BODIES only.

    The kit's ``sign`` (and ``SlackRequest``) take ``str``, and slack_sdk's signer decodes bytes as UTF-8,
    so the kit cannot sign a body that is not valid UTF-8 (``invalid-utf8``): this HMACs the bytes.
    """
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def test_sign_bytes_agrees_with_the_kits_sign():
    body = "payload=%7B%22type%22%3A+%22block_actions%22%7D"
    headers = _sign_bytes(body.encode())
    assert headers == sign(body, SIGNING_SECRET, timestamp=headers["X-Slack-Request-Timestamp"])


@pytest.fixture
def no_tracebacks(caplog):
    caplog.set_level(logging.INFO)
    yield caplog
    for record in caplog.records:
        assert record.exc_info is None, f"traceback logged: {record.getMessage()}"
        assert "Traceback" not in record.getMessage()


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
def test_unsigned_malformed_body_is_401(client, body, content_type, no_tracebacks):
    resp = client.post(EVENTS, body, content_type=content_type)
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid request"}


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
def test_badly_signed_malformed_body_is_401(client, body, content_type, no_tracebacks):
    headers = sign("something else entirely", SIGNING_SECRET)
    resp = client.post(EVENTS, body, content_type=content_type, headers=headers)
    assert resp.status_code == 401


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
def test_signed_malformed_body_is_400_with_a_short_json_error(client, body, content_type, no_tracebacks):
    resp = client.post(EVENTS, body, content_type=content_type, headers=_sign_bytes(body))
    assert resp.status_code == 400
    assert resp["Content-Type"] == "application/json"
    error = resp.json()["error"]
    assert isinstance(error, str)
    assert 0 < len(error) < 80


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES[:6])
def test_bolts_own_adapter_answers_500_for_the_same_unsigned_bodies(client, serve, body, content_type):
    """The oracle: what this package fixes. Bolt parses before it verifies."""
    url = serve(BoltSlackRequestHandler(make_app()).handle)
    client.raise_request_exception = False
    logging.disable(logging.CRITICAL)
    try:
        resp = client.post(url, body, content_type=content_type)
    finally:
        logging.disable(logging.NOTSET)
    assert resp.status_code == 500


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-headers"),
        pytest.param({"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}, id="ts-not-number"),
        pytest.param(
            {"X-Slack-Request-Timestamp": "١٢٣", "X-Slack-Signature": "v0=00"}, id="ts-arabic-digits"
        ),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"}, id="ts-huge"),
        pytest.param({"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""}, id="empty"),
    ],
)
def test_odd_signature_headers_are_401(client, headers, no_tracebacks):
    request = slash_command("/echo", "hi", signing_secret=None).with_headers(headers)
    resp = request.post(client, EVENTS)
    assert resp.status_code == 401


def test_stale_timestamp_is_401_even_when_signed(client, no_tracebacks):
    request = slash_command("/echo", "hi", signing_secret=SIGNING_SECRET, timestamp=time.time() - 600)
    resp = request.post(client, EVENTS)
    assert resp.status_code == 401


def test_wrong_secret_is_401(client, no_tracebacks):
    resp = slash_command("/echo", "hi", signing_secret="wrong").post(client, EVENTS)
    assert resp.status_code == 401


def test_oversized_declared_body_is_413_without_reaching_bolt(client, settings, no_tracebacks):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "MAX_BODY_SIZE": 1024}
    request = slash_command("/echo", "x" * 2000, signing_secret=SIGNING_SECRET)
    resp = request.post(client, EVENTS)
    assert resp.status_code == 413
    assert resp.json() == {"error": "request body too large"}


def test_body_over_djangos_upload_limit_is_413(client, settings, no_tracebacks):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 512
    resp = slash_command("/echo", "x" * 1000, signing_secret=SIGNING_SECRET).post(client, EVENTS)
    assert resp.status_code == 413


def test_body_at_the_limit_is_served(client, settings):
    request = slash_command("/echo", "y" * 100, signing_secret=SIGNING_SECRET)
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "MAX_BODY_SIZE": len(request.body.encode())}
    resp = request.post(client, EVENTS)
    assert resp.status_code == 200


def test_invalid_content_length_is_400(client, no_tracebacks):
    resp = client.generic("POST", EVENTS, b"", content_type=FORM, CONTENT_LENGTH="lots")
    assert resp.status_code == 400


def test_ssl_check_is_answered_without_a_signature_like_bolt(client):
    resp = SlackRequest(body="ssl_check=1&token=abc", content_type=FORM).post(client, EVENTS)
    assert resp.status_code == 200


def test_url_verification_needs_a_signature(client):
    request = url_verification("c-123", signing_secret=SIGNING_SECRET)
    assert request.unsigned().post(client, EVENTS).status_code == 401
    signed = request.post(client, EVENTS)
    assert signed.status_code == 200
    assert signed.json() == {"challenge": "c-123"}


def test_valid_requests_still_work(client):
    resp = slash_command("/echo", "hello", signing_secret=SIGNING_SECRET).post(client, EVENTS)
    assert (resp.status_code, resp.content) == (200, b"echo: hello")
    assert app_mention("hello", signing_secret=SIGNING_SECRET).post(client, EVENTS).status_code == 200


# --- property-based: arbitrary bodies, content types and headers never produce a 5xx ---------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
slack_keys = st.sampled_from(
    [
        "type",
        "event",
        "team",
        "team_id",
        "enterprise",
        "enterprise_id",
        "user",
        "user_id",
        "channel",
        "channel_id",
        "authorizations",
        "actions",
        "view",
        "command",
        "callback_id",
        "action_id",
        "block_id",
        "container",
        "message",
        "is_enterprise_install",
        "api_app_id",
        "token",
        "response_url",
        "trigger_id",
        "function_data",
        "bot_profile",
        "event_id",
        "challenge",
        "text",
        "value",
        "subtype",
        "bot_id",
        "ts",
        "thread_ts",
        "assistant_thread",
        "function",
        "inputs",
        "workflow",
        "state",
        "submission",
        "name",
    ]
)
slack_like_objects = st.recursive(
    st.dictionaries(slack_keys, json_values, max_size=6),
    lambda children: st.dictionaries(slack_keys, children | json_values, max_size=6),
    max_leaves=10,
)
content_types = st.sampled_from(
    [
        "application/json",
        FORM,
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        "application/json; charset=utf-8",
    ]
)


def _encode(obj: object, style: str) -> str:
    text = json.dumps(obj)
    if style == "json":
        return text
    if style == "payload":
        return urlencode({"payload": text})
    return (
        urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in obj.items()})
        if isinstance(obj, dict)
        else text
    )


HYPOTHESIS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(
    body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    content_type=content_types,
    extra_headers=st.dictionaries(
        st.sampled_from(
            [
                "HTTP_X_SLACK_SIGNATURE",
                "HTTP_X_SLACK_REQUEST_TIMESTAMP",
                "HTTP_X_SLACK_RETRY_NUM",
                "HTTP_X_SLACK_BOLT_LAZY_ONLY",
                "HTTP_X_SLACK_BOLT_LAZY_FUNCTION_NAME",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
    ),
)
def test_arbitrary_unsigned_requests_never_5xx(client, body, content_type, extra_headers):
    resp = client.post(EVENTS, body, content_type=content_type, **extra_headers)
    assert resp.status_code < 500
    assert resp.status_code == 401 or b"ssl_check" in body


@HYPOTHESIS
@given(
    obj=slack_like_objects | json_values,
    style=st.sampled_from(["json", "payload", "form"]),
    content_type=content_types,
)
def test_arbitrary_signed_bodies_never_5xx(client, obj, style, content_type):
    request = SlackRequest(body=_encode(obj, style), content_type=content_type).signed(SIGNING_SECRET)
    resp = request.post(client, EVENTS)
    assert resp.status_code < 500, (resp.status_code, request.body)


# --- what an outside audit found: each is a class, covered at large by tests/test_fuzz_payloads.py ---


def test_unsigned_request_with_a_non_ascii_signature_is_401(client, no_tracebacks):
    # hmac.compare_digest raises TypeError on a str that is not ASCII.
    request = slash_command("/echo", "hi", signing_secret=None).with_headers(
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=\u00e9\u00e9"}
    )
    assert request.post(client, EVENTS).status_code == 401


def _signed_interactive(payload: dict) -> SlackRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return SlackRequest(body=body, content_type=FORM).with_headers(sign(body, SIGNING_SECRET))


@pytest.mark.parametrize("actions", [[], None], ids=["empty", "null"])
@pytest.mark.parametrize("kind", ["block_actions", "interactive_message"])
def test_signed_actions_without_an_action_are_400(client, serve, kind, actions, no_tracebacks):
    app = make_app()
    app.action("approve")(lambda ack: ack())
    app.action({"type": "interactive_message", "callback_id": "approval"})(lambda ack: ack())
    url = serve(SlackRequestHandler(app).handle)
    payload = {"type": kind, "team": {"id": "T1"}, "user": {"id": "U1"}, "callback_id": "approval"}
    resp = _signed_interactive({**payload, "actions": actions}).post(client, url)
    assert resp.status_code == 400
    assert resp.json() == {"error": f"malformed {kind} payload"}


def test_signed_view_submission_whose_view_has_no_type_is_400(client, serve, no_tracebacks):
    app = make_app()
    app.view("form")(lambda ack, view: ack())
    url = serve(SlackRequestHandler(app).handle)
    view = {"id": "V1", "callback_id": "form", "state": {"values": {}}}
    payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"}, "view": view}
    resp = _signed_interactive(payload).post(client, url)
    assert resp.status_code == 400
    assert resp.json() == {"error": "malformed view_submission payload"}


@pytest.mark.parametrize("response_url", ["not a url", "ftp://example.com/x", "https://", 5])
def test_a_response_url_that_is_not_a_url_is_400(client, serve, response_url, no_tracebacks):
    # Bolt posts its "not installed" reply there when authorize finds nothing: that post would raise.
    app = make_app(authorize=lambda enterprise_id, team_id, user_id: None)
    app.action("approve")(lambda ack: ack())
    url = serve(SlackRequestHandler(app).handle)
    request = block_action("approve", signing_secret=SIGNING_SECRET, response_url="x")
    payload = {**request.payload, "response_url": response_url}
    resp = _signed_interactive(payload).post(client, url)
    assert resp.status_code == 400
    assert "response_url" in resp.json()["error"]
