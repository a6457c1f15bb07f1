"""The public test kit ``django_slack_bolt.testing``: builders, client, fake Slack, fixtures, TestCases."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.testing import (
    DEFAULT_BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    FakeSlack,
    SlackRequest,
    SlackSimpleTestCase,
    SlackTestCase,
    SlackTestClient,
    app_mention,
    block_action,
    event,
    global_shortcut,
    interactive,
    message,
    message_shortcut,
    options,
    sign,
    slash_command,
    url_verification,
    view_submission,
)
from tests.apps import slack_app as configured

pytest_plugins = ["pytester"]

SECRET = "kit-signing-secret"
KIT_SETTINGS = {"APP": "tests.test_testing_kit.kit_app"}


def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-kit-token",
        bot_id="B00000001",
        bot_user_id=DEFAULT_BOT_USER_ID,
        user_id=user_id,
    )


# The app that the fixture and TestCase tests configure as SLACK_BOLT["APP"]: listeners that talk to
# Slack through `client`, `say` and `respond`, so that the fake has something to record.
kit_app = App(signing_secret=SECRET, authorize=authorize)


@kit_app.command("/notify")
def notify(ack: Any, command: dict[str, Any], respond: Any, say: Any) -> None:
    ack("on it")
    respond(f"notified: {command['text']}")
    say(f"<@{command['user_id']}> says {command['text']}")


@kit_app.event("app_mention")
def kit_mention(event: dict[str, Any], say: Any) -> None:
    say(f"you said: {event['text']}")


@kit_app.action("approve")
def approve(ack: Any, action: dict[str, Any], body: dict[str, Any], client: WebClient, respond: Any) -> None:
    ack()
    try:
        client.chat_postMessage(channel=body["channel"]["id"], text=f"approved {action['value']}")
    except SlackApiError as e:
        respond(f"failed: {e.response['error']}")


@pytest.fixture
def kit_configured(settings: Any) -> None:
    settings.SLACK_BOLT = KIT_SETTINGS


# -- signatures ------------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[str | None], SlackRequest]] = {
    "slash_command": lambda secret: slash_command("/echo", "hi", signing_secret=secret),
    "event": lambda secret: event({"type": "team_join", "user": {"id": "U0NEW"}}, signing_secret=secret),
    "app_mention": lambda secret: app_mention("hi", signing_secret=secret),
    "message": lambda secret: message("hello", signing_secret=secret),
    "block_action": lambda secret: block_action("approve", "1", signing_secret=secret),
    "view_submission": lambda secret: view_submission("modal", {"b": {"a": "x"}}, signing_secret=secret),
    "global_shortcut": lambda secret: global_shortcut("gs", signing_secret=secret),
    "message_shortcut": lambda secret: message_shortcut("ms", signing_secret=secret),
    "options": lambda secret: options("pick", "dj", signing_secret=secret),
    "url_verification": lambda secret: url_verification("c", signing_secret=secret),
    "interactive": lambda secret: interactive({"type": "view_closed"}, signing_secret=secret),
}


@given(body=st.text(), secret=st.text(min_size=1).filter(str.strip))
def test_sign_is_verified_by_slack_sdk(body: str, secret: str) -> None:
    headers = sign(body, secret)

    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "x", headers)
    assert not SignatureVerifier(secret + "x").is_valid_request(body, headers)


def test_sign_uses_the_given_timestamp() -> None:
    stale = int(time.time()) - 3600
    headers = sign("{}", SECRET, timestamp=stale)

    assert headers["X-Slack-Request-Timestamp"] == str(stale)
    assert not SignatureVerifier(SECRET).is_valid_request("{}", headers)  # too old for Slack


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_signs_its_exact_body(name: str) -> None:
    request = BUILDERS[name](SECRET)

    assert SignatureVerifier(SECRET).is_valid_request(request.body, request.headers)
    assert not SignatureVerifier("another-secret").is_valid_request(request.body, request.headers)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_unsigned_builders_have_no_signature_headers(name: str) -> None:
    request = BUILDERS[name](None)

    assert request.headers == {}
    assert (request.timestamp, request.signature) == (None, None)
    assert BUILDERS[name](SECRET).unsigned().headers == {}


def test_request_copies_change_headers() -> None:
    request = slash_command("/echo", signing_secret=SECRET)

    forged = request.with_headers({"x-slack-signature": "v0=bad", "X-Extra": "1"})
    assert forged.headers == {
        "X-Slack-Request-Timestamp": request.timestamp,
        "x-slack-signature": "v0=bad",
        "X-Extra": "1",
    }
    assert request.signature is not None
    assert request.signature.startswith("v0=")  # the original is untouched
    assert request.unsigned().headers == {}
    assert request.signed(SECRET, timestamp=1).timestamp == "1"
    assert request.meta == {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": request.timestamp,
        "HTTP_X_SLACK_SIGNATURE": request.signature,
    }


@given(text=st.text())
def test_slash_command_text_round_trips(text: str) -> None:
    request = slash_command("/echo", text, signing_secret=None)

    assert parse_qs(request.body, keep_blank_values=True)["text"] == [text]
    assert request.payload["text"] == text


# -- through the configured URLs: tests/apps/slack_app.py at /slack/events ---------------------------


def test_client_signs_with_the_configured_apps_secret() -> None:
    slack = SlackTestClient()

    assert slack.signing_secret == configured.SIGNING_SECRET
    assert slack.events_path == "/slack/events"
    response = slack.command("/echo", "hi there")
    assert response.status_code == 200
    assert response.content == b"echo: hi there"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: r.unsigned(), id="unsigned"),
        pytest.param(lambda r: r.signed("wrong-secret"), id="wrong-secret"),
        pytest.param(lambda r: r.signed(configured.SIGNING_SECRET, timestamp=time.time() - 600), id="stale"),
        pytest.param(lambda r: dataclasses.replace(r, body=r.body.replace("hi", "ho")), id="tampered-body"),
    ],
)
def test_configured_app_refuses_bad_signatures(tamper: Callable[[SlackRequest], SlackRequest]) -> None:
    slack = SlackTestClient()
    good = slash_command("/echo", "hi", signing_secret=slack.signing_secret)
    assert slack.send(good).status_code == 200

    assert slack.send(tamper(good)).status_code == 401


def test_explicit_secret_and_path() -> None:
    assert SlackTestClient(signing_secret="nope").command("/echo", "hi").status_code == 401
    assert SlackTestClient(events_path="/slack/events/").command("/echo", "hi").content == b"echo: hi"


def test_client_events_path_falls_back_without_the_url_name(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.test_testing_kit"  # no django_slack_bolt:events here

    assert SlackTestClient().events_path == "/slack/events"


# An URLconf without the package's URLs, for the test above.
urlpatterns: list[Any] = []


def test_url_verification_is_answered_with_the_challenge() -> None:
    response = SlackTestClient().url_verification("c-123")

    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


def test_request_factory_with_meta_kwargs_is_accepted() -> None:
    request = slash_command("/echo", "meta", signing_secret=configured.SIGNING_SECRET)
    django_request = RequestFactory().post(
        "/slack/events", data=request.body, content_type=request.content_type, **request.meta
    )

    response = SlackRequestHandler(configured.app).handle(django_request)
    assert (response.status_code, response.content) == (200, b"echo: meta")


# -- each builder reaches the matching listener ---------------------------------------------------


class Dispatcher:
    """A Bolt app with a listener per request kind, served through SlackRequestHandler."""

    def __init__(self) -> None:
        self.app = App(signing_secret=SECRET, authorize=authorize, process_before_response=True)
        self.seen: dict[str, Any] = {}
        self.handler: SlackRequestHandler | None = None
        app = self.app

        @app.command("/deploy")
        def on_command(ack: Any, command: dict[str, Any], context: Any) -> None:
            self.seen["command"] = (command, context.enterprise_id)
            ack(f"deploying {command['text']}")

        @app.event("reaction_added")
        def on_reaction(event: dict[str, Any]) -> None:
            self.seen["event"] = event

        @app.event("app_mention")
        def on_mention(event: dict[str, Any]) -> None:
            self.seen["app_mention"] = event

        @app.message("hello")
        def on_message(message: dict[str, Any]) -> None:
            self.seen["message"] = message

        @app.action("approve")
        def on_action(ack: Any, action: dict[str, Any], body: dict[str, Any]) -> None:
            self.seen["block_action"] = (action, body)
            ack()

        @app.view_submission("feedback")
        def on_submission(ack: Any, view: dict[str, Any]) -> None:
            self.seen["view_submission"] = view
            ack(response_action="clear")

        @app.global_shortcut("open_ticket")
        def on_global_shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
            self.seen["global_shortcut"] = shortcut
            ack()

        @app.message_shortcut("save_note")
        def on_message_shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
            self.seen["message_shortcut"] = shortcut
            ack()

        @app.options("pick_repo")
        def on_options(ack: Any, payload: dict[str, Any]) -> None:
            self.seen["options"] = payload
            ack(options=[{"text": {"type": "plain_text", "text": "django"}, "value": payload["value"]}])

    def __call__(self, request: SlackRequest) -> Any:
        if self.handler is None:
            self.handler = SlackRequestHandler(self.app)
        return self.handler.handle(request.post(RequestFactory(), "/slack/events"))


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher()


def test_slash_command_reaches_its_listener(dispatcher: Dispatcher) -> None:
    response = dispatcher(slash_command("/deploy", "api", signing_secret=SECRET, user_id="U0ALICE"))

    assert (response.status_code, response.content) == (200, b"deploying api")
    command, enterprise_id = dispatcher.seen["command"]
    assert command["user_id"] == "U0ALICE"
    assert command["channel_id"] == DEFAULT_CHANNEL_ID
    assert command["response_url"].startswith("https://hooks.slack.com/commands/")
    assert enterprise_id is None
    assert dispatcher(slash_command("/other", signing_secret=SECRET)).status_code == 404


def test_enterprise_id_reaches_the_context(dispatcher: Dispatcher) -> None:
    dispatcher(slash_command("/deploy", "x", signing_secret=SECRET, enterprise_id="E00000001"))

    assert dispatcher.seen["command"][1] == "E00000001"


def test_event_reaches_its_listener(dispatcher: Dispatcher) -> None:
    reaction = {
        "type": "reaction_added",
        "user": DEFAULT_USER_ID,
        "reaction": "tada",
        "item": {"type": "message"},
    }
    response = dispatcher(event(reaction, signing_secret=SECRET))

    assert response.status_code == 200
    assert dispatcher.seen["event"]["reaction"] == "tada"
    assert "event_ts" in dispatcher.seen["event"]


def test_app_mention_reaches_its_listener_with_the_mention(dispatcher: Dispatcher) -> None:
    assert dispatcher(app_mention("status?", signing_secret=SECRET)).status_code == 200

    assert dispatcher.seen["app_mention"]["text"] == f"<@{DEFAULT_BOT_USER_ID}> status?"
    assert dispatcher.seen["app_mention"]["channel"] == DEFAULT_CHANNEL_ID


def test_message_reaches_the_message_listener(dispatcher: Dispatcher) -> None:
    assert (
        dispatcher(message("hello there", signing_secret=SECRET, channel_id="D00000001")).status_code == 200
    )

    assert dispatcher.seen["message"]["text"] == "hello there"
    assert dispatcher.seen["message"]["channel_type"] == "im"
    assert dispatcher(message("bye", signing_secret=SECRET)).status_code == 404


def test_block_action_reaches_its_listener(dispatcher: Dispatcher) -> None:
    response = dispatcher(block_action("approve", "PR-42", signing_secret=SECRET, block_id="review"))

    assert response.status_code == 200
    action, body = dispatcher.seen["block_action"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("approve", "review", "PR-42")
    assert body["channel"]["id"] == DEFAULT_CHANNEL_ID
    assert dispatcher(block_action("reject", signing_secret=SECRET)).status_code == 404


def test_block_action_in_a_modal(dispatcher: Dispatcher) -> None:
    view = {"id": "V00000009", "type": "modal", "callback_id": "feedback"}
    dispatcher(block_action("approve", signing_secret=SECRET, view=view, action={"type": "checkboxes"}))

    action, body = dispatcher.seen["block_action"]
    assert action["type"] == "checkboxes"
    assert body["container"] == {"type": "view", "view_id": "V00000009"}
    assert "response_url" not in body


def test_view_submission_reaches_its_listener(dispatcher: Dispatcher) -> None:
    values = {
        "comment": {"text": "Great!"},
        "rating": {"stars": {"type": "static_select", "selected_option": {}}},
    }
    response = dispatcher(view_submission("feedback", values, signing_secret=SECRET, private_metadata="m"))

    assert response.status_code == 200
    assert json.loads(response.content) == {"response_action": "clear"}
    view = dispatcher.seen["view_submission"]
    assert view["state"]["values"]["comment"]["text"] == {"type": "plain_text_input", "value": "Great!"}
    assert view["state"]["values"]["rating"]["stars"]["type"] == "static_select"
    assert view["private_metadata"] == "m"
    assert dispatcher(view_submission("other", signing_secret=SECRET)).status_code == 404


def test_shortcuts_reach_the_listener_of_their_kind(dispatcher: Dispatcher) -> None:
    assert dispatcher(global_shortcut("open_ticket", signing_secret=SECRET)).status_code == 200
    assert dispatcher(message_shortcut("save_note", signing_secret=SECRET)).status_code == 200

    assert dispatcher.seen["global_shortcut"]["type"] == "shortcut"
    assert dispatcher.seen["message_shortcut"]["message"]["text"] == "A message"
    # Each kind only matches its own listener.
    assert dispatcher(message_shortcut("open_ticket", signing_secret=SECRET)).status_code == 404
    assert dispatcher(global_shortcut("save_note", signing_secret=SECRET)).status_code == 404


def test_options_reach_their_listener(dispatcher: Dispatcher) -> None:
    response = dispatcher(options("pick_repo", "djan", signing_secret=SECRET))

    assert response.status_code == 200
    assert json.loads(response.content)["options"][0]["value"] == "djan"
    assert dispatcher.seen["options"]["type"] == "block_suggestion"


# The same listeners as the app of SLACK_BOLT["APP"], for SlackTestClient's methods.
CLIENT_DISPATCHER = Dispatcher()
client_dispatch_app = CLIENT_DISPATCHER.app


def test_client_methods_reach_their_listeners(settings: Any) -> None:
    settings.SLACK_BOLT = {"APP": "tests.test_testing_kit.client_dispatch_app"}
    CLIENT_DISPATCHER.seen.clear()
    slack = SlackTestClient(user_id="U0BOB", channel_id="C0DEV", team_id="T0OTHER")
    assert slack.signing_secret == SECRET

    assert slack.command("/deploy", "api").content == b"deploying api"
    reaction = {"type": "reaction_added", "user": "U0BOB", "reaction": "eyes", "item": {"type": "message"}}
    assert slack.event(reaction).status_code == 200
    assert slack.app_mention("hi").status_code == 200
    assert slack.message("hello", channel_id="D0BOB").status_code == 200
    assert slack.block_action("approve", "7").status_code == 200
    assert slack.view_submission("feedback", {"b": {"a": "x"}}).json() == {"response_action": "clear"}
    assert slack.global_shortcut("open_ticket").status_code == 200
    assert slack.message_shortcut("save_note").status_code == 200
    assert slack.block_suggestion("pick_repo", "dj").json()["options"][0]["value"] == "dj"
    assert slack.options("/slack/events").status_code == 200  # still Django's HTTP OPTIONS

    seen = CLIENT_DISPATCHER.seen
    command = seen["command"][0]
    assert (command["user_id"], command["channel_id"], command["team_id"]) == ("U0BOB", "C0DEV", "T0OTHER")
    assert seen["event"]["reaction"] == "eyes"
    assert (seen["app_mention"]["user"], seen["app_mention"]["channel"]) == ("U0BOB", "C0DEV")
    assert seen["message"]["channel"] == "D0BOB"
    assert seen["block_action"][1]["user"]["id"] == "U0BOB"
    assert seen["view_submission"]["state"]["values"] == {
        "b": {"a": {"type": "plain_text_input", "value": "x"}}
    }
    assert seen["global_shortcut"]["team"]["id"] == "T0OTHER"
    assert seen["message_shortcut"]["channel"]["id"] == "C0DEV"
    assert seen["options"]["value"] == "dj"


# -- FakeSlack --------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def test_fake_records_web_api_calls(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-1", base_url=fake.url)

    posted = client.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "divider"}])
    client.conversations_history(channel="C1", limit=5)  # form-encoded

    assert fake.url.endswith("/api/")
    assert (posted["channel"], posted["message"]["text"], posted["message"]["ts"]) == (
        "C1",
        "hi",
        posted["ts"],
    )
    first, second = fake.calls
    assert (first.method, first.token, first.params["blocks"]) == (
        "chat.postMessage",
        "xoxb-1",
        [{"type": "divider"}],
    )
    assert (second.method, second.params) == ("conversations.history", {"channel": "C1", "limit": "5"})
    assert fake.last_call().method == "conversations.history"
    assert fake.calls_to("chat.postMessage", {"text": "hi"}) == [first]
    assert fake.calls_to("chat.postMessage", {"text": "ho"}) == []
    with pytest.raises(AssertionError, match=r"not called at views\.open"):
        fake.last_call("views.open")


def test_fake_answers_like_slack(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-1", base_url=fake.url)

    assert client.auth_test()["team_id"] == DEFAULT_TEAM_ID
    assert client.auth_test()["user_id"] == DEFAULT_BOT_USER_ID
    opened = client.views_open(trigger_id="t", view={"type": "modal", "callback_id": "cb", "blocks": []})
    assert opened["view"]["callback_id"] == "cb"
    assert opened["view"]["id"].startswith("V")
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]["type"] == "home"
    assert client.api_call("admin.anything")["ok"] is True


def test_fake_scripted_errors(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-1", base_url=fake.url)
    fake.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"}, times=1)
    fake.respond("chat.postMessage", status=429, headers={"Retry-After": "7"}, times=1)

    with pytest.raises(SlackApiError) as not_found:
        client.chat_postMessage(channel="C404", text="x")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="x")
    ok = client.chat_postMessage(channel="C1", text="x")  # the scripts are used up

    assert not_found.value.response["error"] == "channel_not_found"
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert ok["ok"] is True
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [200, 429, 200]


def test_fake_standing_and_computed_answers(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-1", base_url=fake.url)
    fake.respond("users.info", lambda call: {"ok": True, "user": {"id": call.params["user"]}})

    assert client.users_info(user="U7")["user"] == {"id": "U7"}
    assert client.users_info(user="U8")["user"] == {"id": "U8"}
    fake.reset()
    assert client.users_info(user="U9").data == {"ok": True}
    assert [call.params["user"] for call in fake.calls] == ["U9"]


def test_fake_latency_global_and_per_method() -> None:
    with FakeSlack(latency=0.2) as fake:
        client = WebClient(token="xoxb-1", base_url=fake.url)
        started = time.perf_counter()
        client.auth_test()
        assert 0.2 <= time.perf_counter() - started < 0.45  # generous: other test runs share the CPU

        fake.set_latency(0)
        fake.set_latency(0.3, method="chat.postMessage")
        started = time.perf_counter()
        client.auth_test()
        assert time.perf_counter() - started < 0.25
        started = time.perf_counter()
        client.chat_postMessage(channel="C1", text="slow")
        assert 0.3 <= time.perf_counter() - started < 0.55

        fake.reset()
        assert fake.latency == 0.2


def test_fake_serves_concurrent_requests_in_parallel() -> None:
    with FakeSlack(latency=0.2) as fake:

        def call(i: int) -> None:
            WebClient(token=f"xoxb-{i}", base_url=fake.url).chat_postMessage(channel="C1", text=str(i))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    assert elapsed < 1.5  # 50 x 0.2 s if served one at a time
    assert sorted(int(c.params["text"]) for c in fake.calls) == list(range(50))
    assert len({c.response["ts"] for c in fake.calls}) == 50


def test_fake_keep_alive_connections_and_stop() -> None:
    requests = pytest.importorskip("requests")
    with FakeSlack() as fake, requests.Session() as session:
        for _ in range(3):
            assert session.post(fake.url + "auth.test", data={"x": "1"}).json()["ok"] is True
        url = fake.url
        fake.stop()  # with an idle keep-alive connection open
        assert not fake.running
        with pytest.raises(requests.ConnectionError):
            session.post(url + "auth.test", timeout=1)
    assert [call.params for call in fake.calls] == [{"x": "1"}] * 3


def test_fake_response_urls(fake: FakeSlack) -> None:
    from slack_sdk.webhook import WebhookClient

    url = fake.response_url("commands/T1/42/abc")
    WebhookClient(url).send(text="done", response_type="ephemeral")

    call = fake.wait_for_call("response_url")
    assert call.path == "/hooks/commands/T1/42/abc"
    assert call.params == {"text": "done", "response_type": "ephemeral"}
    assert fake.response_url() != fake.response_url()


def test_wait_for_call_waits_for_background_threads(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-1", base_url=fake.url)

    def later() -> None:
        time.sleep(0.1)
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")

    thread = threading.Thread(target=later)
    thread.start()
    try:
        assert fake.calls == []
        assert fake.wait_for_call("chat.postMessage", count=2).params["text"] == "two"
        assert fake.wait_for_call("chat.postMessage", params={"text": "one"}).params["text"] == "one"
    finally:
        thread.join()
    with pytest.raises(
        AssertionError, match=r"Timed out after 0\.05s .* 3 call\(s\) to chat\.postMessage; got 2"
    ):
        fake.wait_for_call("chat.postMessage", count=3, timeout=0.05)


def test_point_app_makes_listener_clients_hit_the_fake(fake: FakeSlack) -> None:
    app = App(signing_secret=SECRET, authorize=authorize)
    said = threading.Event()

    @app.event("app_mention")
    def reply(say: Any, client: WebClient) -> None:
        say("from say")
        client.reactions_add(channel=DEFAULT_CHANNEL_ID, name="eyes", timestamp="1.2")
        said.set()

    original = app.client.base_url
    handler = SlackRequestHandler(app)
    with fake.point_app(app) as patch:
        response = handler.handle(app_mention("hi", signing_secret=SECRET).post(RequestFactory()))
        assert response.status_code == 200
        say_call = fake.wait_for_call("chat.postMessage")
        reaction = fake.wait_for_call("reactions.add")
    assert said.wait(1)
    assert app.client.base_url == original
    patch()  # restoring twice is harmless
    assert app.client.base_url == original
    assert (say_call.params["channel"], say_call.params["text"], say_call.token) == (
        DEFAULT_CHANNEL_ID,
        "from say",
        "xoxb-kit-token",
    )
    assert reaction.params["name"] == "eyes"


def test_token_app_authorizes_against_the_fake(fake: FakeSlack) -> None:
    """A single-workspace app (``token=``) calls auth.test per request: the fake's answer authorizes it."""
    app = App(signing_secret=SECRET, token="xoxb-single", token_verification_enabled=False)

    @app.command("/whoami")
    def whoami(ack: Any, context: Any) -> None:
        ack(f"{context.bot_user_id} {context.team_id}")

    with fake.point_app(app):
        response = SlackRequestHandler(app).handle(
            slash_command("/whoami", signing_secret=SECRET).post(RequestFactory())
        )

    assert (response.status_code, response.content) == (
        200,
        f"{DEFAULT_BOT_USER_ID} {DEFAULT_TEAM_ID}".encode(),
    )
    assert fake.last_call("auth.test").token == "xoxb-single"


# -- pytest fixtures --------------------------------------------------------------------------------


def test_slack_client_fixture_targets_the_configured_app(
    slack_client: SlackTestClient, slack_app: App
) -> None:
    assert slack_app is configured.app
    assert slack_client.command("/echo", "fixture").content == b"echo: fixture"


def test_fake_slack_fixture_is_reset_and_shared(fake_slack: FakeSlack, fake_slack_session: FakeSlack) -> None:
    assert fake_slack is fake_slack_session
    assert fake_slack.running
    assert fake_slack.calls == []
    WebClient(base_url=fake_slack.url).api_test()  # left behind for the next test to not see
    fake_slack.respond("api.test", status=500)


def test_fake_slack_fixture_is_reset_again(fake_slack: FakeSlack) -> None:
    assert fake_slack.calls == []
    assert WebClient(base_url=fake_slack.url).api_test().status_code == 200


@pytest.mark.usefixtures("kit_configured")
def test_slack_app_fixture_points_the_app_at_the_fake(
    slack_client: SlackTestClient, slack_app: App, fake_slack: FakeSlack
) -> None:
    assert slack_app is kit_app
    assert kit_app.client.base_url == fake_slack.url

    response = slack_client.command("/notify", "deploy done")

    assert (response.status_code, response.content) == (200, b"on it")
    responded = fake_slack.wait_for_call("response_url")
    said = fake_slack.wait_for_call("chat.postMessage")
    assert responded.params["text"] == "notified: deploy done"
    assert said.matches(
        "chat.postMessage", {"channel": DEFAULT_CHANNEL_ID, "text": f"<@{DEFAULT_USER_ID}> says deploy done"}
    )


@pytest.mark.usefixtures("kit_configured")
def test_listener_sees_scripted_errors(slack_client: SlackTestClient, fake_slack: FakeSlack) -> None:
    fake_slack.respond("chat.postMessage", {"ok": False, "error": "channel_not_found"})

    assert slack_client.block_action("approve", "PR-1").status_code == 200

    assert fake_slack.wait_for_call("response_url").params["text"] == "failed: channel_not_found"


def test_plugin_loads_without_django_settings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry-point plugin in a fresh project: settings configured only after it is imported."""
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    pytester.makepyfile(
        kit_slack="""
            from slack_bolt import App
            from slack_bolt.authorization import AuthorizeResult

            def authorize(enterprise_id, team_id, user_id):
                return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-1",
                                       bot_id="B1", bot_user_id="UBOT", user_id=user_id)

            app = App(signing_secret="s3cret", authorize=authorize)

            @app.command("/hello")
            def hello(ack, say):
                ack()
                say("hello back")
        """,
        kit_urls="""
            from django.urls import include, path
            urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]
        """,
        conftest="""
            import sys
            assert "django_slack_bolt.testing.pytest_plugin" in sys.modules
            import django
            from django.conf import settings
            assert not settings.configured
            settings.configure(SECRET_KEY="x", ALLOWED_HOSTS=["*"], ROOT_URLCONF="kit_urls",
                               INSTALLED_APPS=["django_slack_bolt"], SLACK_BOLT={"APP": "kit_slack.app"})
            django.setup()
        """,
        test_kit="""
            def test_command(slack_client, fake_slack):
                assert slack_client.command("/hello").status_code == 200
                assert fake_slack.wait_for_call("chat.postMessage").params["text"] == "hello back"

            def test_app_restored_after_the_test():
                from kit_slack import app
                assert app.client.base_url == "https://slack.com/api/"

            def test_fake_reset(fake_slack):
                assert fake_slack.calls == []
        """,
    )

    # Other pytest plugins of this environment (pytest-asyncio wants an ini option) stay out.
    result = pytester.runpytest_subprocess(
        "-p", "no:django", "-p", "no:asyncio", "-p", "no:cacheprovider", "-W", "error", "-q"
    )

    result.assert_outcomes(passed=3)


# -- the TestCase classes ---------------------------------------------------------------------------


@override_settings(SLACK_BOLT=KIT_SETTINGS)
class SimpleTestCaseKitTests(SlackSimpleTestCase):
    def setUp(self) -> None:  # no super(): the kit does not rely on it
        self.marker = True

    def test_command_is_recorded_by_the_fake(self) -> None:
        response = self.slack.command("/notify", "hi")

        assert response.content == b"on it"
        call = self.assertSlackCalled("chat.postMessage", channel=DEFAULT_CHANNEL_ID)
        assert call.params["text"] == f"<@{DEFAULT_USER_ID}> says hi"
        self.assertSlackCalled("response_url", text="notified: hi")
        self.assertSlackNotCalled("views.open")
        self.assertSlackCallCount("chat.postMessage", 1)

    def test_app_mention_in_the_background(self) -> None:
        self.slack.app_mention("ping")

        self.assertSlackCalled("chat.postMessage", text=f"you said: <@{DEFAULT_BOT_USER_ID}> ping")

    def test_each_test_starts_clean(self) -> None:
        assert self.fake_slack.calls == []
        assert kit_app.client.base_url == self.fake_slack.url
        self.slack.app_mention("left behind")
        self.assertSlackCalled("chat.postMessage")

    def test_each_test_starts_clean_too(self) -> None:
        self.test_each_test_starts_clean()

    def test_assertions_fail(self) -> None:
        self.slack_wait_timeout = 0.05
        self.slack.command("/notify", "x")
        self.assertSlackCalled("chat.postMessage")

        with pytest.raises(AssertionError, match=r"(?s)text.*Calls to chat\.postMessage:"):
            self.assertSlackCalled("chat.postMessage", text="something else")
        with pytest.raises(AssertionError, match=r"chat\.postMessage was called 1 time"):
            self.assertSlackNotCalled("chat.postMessage")
        with pytest.raises(AssertionError, match="called 1 time"):
            self.assertSlackCallCount("chat.postMessage", 2)
        self.assertSlackNotCalled("chat.postMessage", text="something else")
        assert self.marker


def test_test_case_class_cleanup_stops_the_fake_and_restores_the_app() -> None:
    class Probe(SlackSimpleTestCase):
        slack_app = kit_app

    Probe.setUpClass()
    fake = Probe.fake_slack
    assert fake.running
    assert kit_app.client.base_url == fake.url
    Probe.tearDownClass()
    Probe.doClassCleanups()
    assert not fake.running
    assert kit_app.client.base_url == "https://slack.com/api/"


@override_settings(SLACK_BOLT=KIT_SETTINGS)
class DatabaseTestCaseKitTests(SlackTestCase):
    def test_block_action_posts_with_the_client(self) -> None:
        self.slack.block_action("approve", "PR-7")

        self.assertSlackCalled("chat.postMessage", channel=DEFAULT_CHANNEL_ID, text="approved PR-7")
