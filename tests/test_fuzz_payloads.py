"""A structure-aware fuzzer: Slack's real payload shapes, each field broken in turn, signed, and sent
through the full request path (URLconf, middleware) to an app with a listener for every payload type
Bolt routes, sync and async. Whatever a client sends, signed or not: never a 5xx, never a traceback.

For every request builder of the test kit, every field path (to a depth of five) is removed, or
replaced by null, a number, a string, an empty list, a list of null and a deep object; form-encoded
slash commands get the string forms of those. Every single-field variant runs in CI (the count is
printed); ``DJANGO_SLACK_BOLT_FUZZ_PAIRS=N`` adds N random variants with two fields broken at once.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import random
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import (
    SlackRequest,
    app_home_opened,
    app_mention,
    assistant_thread_context_changed,
    assistant_thread_started,
    attachment_action,
    block_action,
    dialog_cancellation,
    dialog_submission,
    dialog_suggestion,
    event,
    function_executed,
    global_shortcut,
    message,
    message_shortcut,
    options,
    sign,
    slash_command,
    url_verification,
    view_closed,
    view_submission,
)

from .support import SIGNING_SECRET, authorize, make_app

S = SIGNING_SECRET
BUILDERS: dict[str, Callable[[], SlackRequest]] = {
    "slash command": lambda: slash_command("/echo", "hi", signing_secret=S),
    "slash command, lazy": lambda: slash_command("/lazy", "hi", signing_secret=S),
    "app_mention": lambda: app_mention("hello", signing_secret=S),
    "message": lambda: message("hello there", signing_secret=S),
    "message in an assistant thread": lambda: message(
        "hi", signing_secret=S, channel_id="D00000001", thread_ts="1700000000.000100"
    ),
    "reaction_added": lambda: event(
        {
            "type": "reaction_added",
            "user": "U00000001",
            "reaction": "tada",
            "item": {"type": "message", "channel": "C00000001", "ts": "1700000000.000100"},
        },
        signing_secret=S,
    ),
    "app_home_opened": lambda: app_home_opened(signing_secret=S),
    "function_executed": lambda: function_executed("sample", {"user_id": "U1"}, signing_secret=S),
    "assistant_thread_started": lambda: assistant_thread_started(signing_secret=S),
    "assistant_thread_context_changed": lambda: assistant_thread_context_changed(signing_secret=S),
    "block action": lambda: block_action("approve", "yes", signing_secret=S),
    "block action in a modal": lambda: block_action(
        "approve", "yes", signing_secret=S, view={"id": "V1", "type": "modal", "callback_id": "feedback"}
    ),
    "attachment action": lambda: attachment_action("approval", "approve", "yes", signing_secret=S),
    "dialog submission": lambda: dialog_submission("ticket", {"title": "x"}, signing_secret=S),
    "dialog cancellation": lambda: dialog_cancellation("ticket", signing_secret=S),
    "dialog suggestion": lambda: dialog_suggestion("ticket", "pri", signing_secret=S),
    "global shortcut": lambda: global_shortcut("open_ticket", signing_secret=S),
    "message shortcut": lambda: message_shortcut("save_note", signing_secret=S),
    "view submission": lambda: view_submission("feedback", {"comment": {"text": "ok"}}, signing_secret=S),
    "view closed": lambda: view_closed("feedback", signing_secret=S),
    "options": lambda: options("pick_repo", "dj", signing_secret=S),
    "url_verification": lambda: url_verification("challenge-1", signing_secret=S),
}

_REMOVE = object()
REPLACEMENTS: dict[str, Any] = {
    "removed": _REMOVE,
    "null": None,
    "number": 7,
    "string": "x",
    "empty list": [],
    "list of null": [None],
    "deep object": {"a": {"b": {"c": [{"d": None}]}}},
}
# A slash command is a flat form: every value is text.
FORM_REPLACEMENTS: dict[str, Any] = {
    "removed": _REMOVE,
    "empty": "",
    "number": "7",
    "string": "x",
    "json list": "[null]",
    "json object": '{"a": {}}',
    "not ascii": "é\u2028\u0000",
}
MAX_DEPTH = 5

Path = tuple[str | int, ...]


def field_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    if len(prefix) >= MAX_DEPTH:
        return
    items: list[tuple[str | int, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:2]))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from field_paths(child, (*prefix, key))


def mutated(payload: Any, path: Path, replacement: Any) -> Any:
    broken = copy.deepcopy(payload)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    if replacement is _REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(replacement)
    return broken


def encode(original: SlackRequest, payload: Any) -> SlackRequest:
    """``payload`` in the original's format (JSON, ``payload=`` form, or a flat form), signed."""
    if original.content_type == "application/json":
        body = json.dumps(payload)
    elif original.body.startswith("payload="):
        body = urlencode({"payload": json.dumps(payload)})
    else:
        body = urlencode(payload)
    unsigned = SlackRequest(body=body, content_type=original.content_type)
    return unsigned.with_headers(sign(body, SIGNING_SECRET))


def single_field_variants() -> list[tuple[str, SlackRequest]]:
    variants: list[tuple[str, SlackRequest]] = []
    for name, build in BUILDERS.items():
        original = build()
        replacements = (
            REPLACEMENTS
            if original.content_type == "application/json" or (original.body.startswith("payload="))
            else FORM_REPLACEMENTS
        )
        payload = original.payload
        for path in field_paths(payload):
            for kind, replacement in replacements.items():
                label = f"{name}: {'.'.join(map(str, path))} {kind}"
                variants.append((label, encode(original, mutated(payload, path, replacement))))
    return variants


def pair_variants(count: int, seed: int = 20261204) -> list[tuple[str, SlackRequest]]:
    rng = random.Random(seed)
    variants: list[tuple[str, SlackRequest]] = []
    names = list(BUILDERS)
    while len(variants) < count:
        original = BUILDERS[rng.choice(names)]()
        payload = original.payload
        if original.content_type != "application/json" and not original.body.startswith("payload="):
            continue
        paths = list(field_paths(payload))
        for _ in range(2):
            path = rng.choice(paths)
            # The first change may have removed the second's parent: then one change is all there is.
            with contextlib.suppress(KeyError, IndexError, TypeError):
                payload = mutated(payload, path, rng.choice(list(REPLACEMENTS.values())))
            paths = list(field_paths(payload)) or paths
        variants.append((f"pair {len(variants)}", encode(original, payload)))
    return variants


def fuzz_app(app: Any, asynchronous: bool) -> Any:
    """Listeners for every payload type, with string and pattern constraints, every injected argument."""

    def listener_for(*argument_names: str) -> Callable[..., Any]:
        # Bolt injects arguments by name: the listener asks for many, and does nothing with them.
        namespace: dict[str, Any] = {}
        params = ", ".join(argument_names)
        prefix = "async " if asynchronous else ""
        call = "await ack()" if asynchronous else "ack()"
        body = f"    if 'ack' in locals() and ack is not None:\n        {call}\n"
        source = f"{prefix}def listener({params}):\n{body}"
        exec(source, namespace)
        return namespace["listener"]  # type: ignore[no-any-return]

    everything = listener_for(
        "ack", "body", "payload", "context", "logger", "client", "event", "message", "command",
        "action", "options", "shortcut", "view", "say", "respond", "request", "response",
    )  # fmt: skip
    events_only = listener_for("body", "payload", "event", "message", "context", "say", "client")

    app.command("/echo")(everything)
    app.command(re.compile(r"^/ec"))(everything)
    app.command("/lazy")(ack=listener_for("ack", "command"), lazy=[listener_for("body", "respond")])
    app.event("app_mention")(events_only)
    app.event(re.compile("^reaction_"))(events_only)
    app.event({"type": "message", "subtype": re.compile("^file")})(events_only)
    app.event("app_home_opened")(events_only)
    app.message(re.compile("hello"))(events_only)
    app.message("there")(events_only)
    app.function("sample")(listener_for("ack", "inputs", "complete", "fail", "body"))
    app.action("approve")(everything)
    app.action(re.compile("^appr"))(everything)
    app.action({"block_id": re.compile("^act"), "action_id": re.compile("^appr")})(everything)
    app.action({"type": "interactive_message", "callback_id": re.compile("^appr")})(everything)
    app.attachment_action("approval")(everything)
    app.dialog_submission(re.compile("^tick"))(everything)
    app.dialog_cancellation("ticket")(everything)
    app.dialog_suggestion(re.compile("^tick"))(everything)
    app.shortcut(re.compile("^open"))(everything)
    app.shortcut({"type": "message_action", "callback_id": "save_note"})(everything)
    app.view(re.compile("^feed"))(everything)
    app.view({"type": "view_closed", "callback_id": re.compile("^feed")})(everything)
    app.options(re.compile("^pick"))(everything)
    app.options({"action_id": "pick_repo"})(everything)
    return app


def _assistant(asynchronous: bool) -> Any:
    if asynchronous:
        from slack_bolt.context.say.async_say import AsyncSay  # noqa: F401 - needs aiohttp
        from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant

        assistant: Any = AsyncAssistant()

        async def started(say: Any, context: Any) -> None:
            return None

    else:
        from slack_bolt import Assistant

        assistant = Assistant()

        def started(say: Any, context: Any) -> None:  # type: ignore[misc]
            return None

    assistant.thread_started(started)
    assistant.thread_context_changed(started)
    assistant.user_message(started)
    return assistant


def sync_fuzz_app() -> App:
    app = make_app()
    app.use(_assistant(False))
    return fuzz_app(app, asynchronous=False)


def assert_clean(status: int, content: bytes, label: str) -> None:
    assert status < 500, f"{label}: {status}"
    if status == 400:
        reason = json.loads(content)["error"]
        assert isinstance(reason, str), label
        assert 0 < len(reason) < 80, label


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
    assert not bad, "\n".join(f"{r.name}: {r.getMessage()}" for r in bad[:5])


def variants_for_ci() -> list[tuple[str, SlackRequest]]:
    return single_field_variants() + pair_variants(int(os.environ.get("DJANGO_SLACK_BOLT_FUZZ_PAIRS", "0")))


def test_every_builder_and_listener_is_exercised(client: Any, serve: Any) -> None:
    # The fuzzer only means something if the unbroken requests reach listeners and get 200.
    app = sync_fuzz_app()
    url = serve(SlackRequestHandler(app).handle)
    for name, build in BUILDERS.items():
        response = build().post(client, url)
        assert response.status_code == 200, (name, response.status_code, response.content)
    assert len(single_field_variants()) > 3000


def test_no_5xx_and_no_traceback_sync(client: Any, serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = sync_fuzz_app()
    url = serve(SlackRequestHandler(app).handle)
    variants = variants_for_ci()
    statuses: dict[int, int] = {}
    for label, request in variants:
        response = request.post(client, url)
        assert_clean(response.status_code, response.content, label)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    app.listener_runner.listener_executor.shutdown(wait=True)  # every listener thread has finished
    assert_no_tracebacks(caplog)
    print(f"sync: {len(variants)} variants, statuses {sorted(statuses.items())}")


@pytest.mark.asyncio
async def test_no_5xx_and_no_traceback_async(aserve: Any, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("aiohttp")
    import asyncio

    from django.test import AsyncClient
    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt import AsyncSlackRequestHandler

    async def async_authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        return authorize(enterprise_id, team_id, user_id)

    caplog.set_level(logging.INFO)
    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=async_authorize)
    app.use(_assistant(True))
    fuzz_app(app, asynchronous=True)
    url = aserve(AsyncSlackRequestHandler(app).handle)
    client = AsyncClient()
    variants = variants_for_ci()
    statuses: dict[int, int] = {}
    for label, request in variants:
        response = await client.post(
            url, data=request.body, content_type=request.content_type, headers=request.headers
        )
        assert_clean(response.status_code, response.content, label)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    # Let the listener tasks started after each ack finish.
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*pending, return_exceptions=True)
    assert_no_tracebacks(caplog)
    print(f"async: {len(variants)} variants, statuses {sorted(statuses.items())}")
