"""The ASGI side under a real server: uvicorn on 127.0.0.1, in a process of its own, serving an AsyncApp.

The project (tests/apps/async_settings.py, tests/apps/async_asgi.py) is served as the README says,
``uvicorn <project>.asgi:application``; its app is a multi-workspace AsyncApp with Bolt's OAuth flow,
whose Web API calls go to this test's FakeSlack. Requests are signed with the test kit's builders and
sent over TCP with ``requests``.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation

from django_slack_bolt.testing import (
    DEFAULT_API_APP_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    RESPONSE_URL_METHOD,
    FakeSlack,
    SlackRequest,
    app_mention,
    block_action,
    options,
    slash_command,
    view_submission,
)

from .apps.async_slack_app import FAKE_SLACK_URL_ENV, OAUTH_DIR_ENV, SLOW_WORK_SECONDS
from .async_support import uvicorn_process
from .support import SIGNING_SECRET
from .test_bad_input import MALFORMED_BODIES, _sign_bytes

pytest.importorskip("uvicorn", reason="the ASGI tests serve the project with uvicorn")

SEEDED_BOT_TOKEN = "xoxb-seeded-installation"


@dataclass
class Server:
    """A running uvicorn; ``log`` collects what it writes to stderr."""

    url: str
    process: subprocess.Popen[str]
    oauth_dir: Path
    log: list[str] = field(default_factory=list)

    def post(self, request: SlackRequest, path: str = "/slack/events") -> requests.Response:
        headers = {"Content-Type": request.content_type, **request.headers}
        return requests.post(self.url + path, data=request.body.encode(), headers=headers, timeout=10)


def _seed_installation(oauth_dir: Path) -> None:
    """The workspace the signed requests come from, as if it had installed the app already."""
    FileInstallationStore(base_dir=str(oauth_dir / "installations")).save(
        Installation(
            app_id=DEFAULT_API_APP_ID,
            team_id=DEFAULT_TEAM_ID,
            bot_token=SEEDED_BOT_TOKEN,
            bot_id="B00000001",
            bot_user_id=DEFAULT_BOT_USER_ID,
            bot_scopes=["commands", "chat:write"],
            user_id=DEFAULT_USER_ID,
            installed_at=time.time(),
        )
    )


def _start(fake: FakeSlack, oauth_dir: Path, *, fast_ack: bool) -> Iterator[Server]:
    _seed_installation(oauth_dir)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.apps.async_settings",
        "DJANGO_SLACK_BOLT_TEST_FAST_ACK": "1" if fast_ack else "0",
        FAKE_SLACK_URL_ENV: fake.url,
        OAUTH_DIR_ENV: str(oauth_dir),
        "PYTHONUNBUFFERED": "1",
    }
    with uvicorn_process(env) as (url, log, process):
        yield Server(url=url, process=process, oauth_dir=oauth_dir, log=log)


@pytest.fixture(scope="module")
def server(fake_slack_session: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn serving the AsyncApp with django-slack-bolt's fast-ack runner (the default)."""
    yield from _start(fake_slack_session, tmp_path_factory.mktemp("async-oauth"), fast_ack=True)


@pytest.fixture(scope="module")
def polling_server(
    fake_slack_session: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The same project with SLACK_BOLT["FAST_ACK"] = False: Bolt's polling runner, the control."""
    yield from _start(fake_slack_session, tmp_path_factory.mktemp("async-oauth-polling"), fast_ack=False)


def _new_log(server: Server, since: int) -> str:
    return "".join(server.log[since:])


def test_events_url_methods(server):
    assert requests.head(server.url + "/slack/events", timeout=10).status_code == 200
    for method in ("get", "put", "delete"):
        resp = requests.request(method, server.url + "/slack/events", timeout=10)
        assert resp.status_code == 405
        assert set(resp.headers["Allow"].split(", ")) == {"POST", "HEAD", "OPTIONS"}


def test_slash_command(server):
    resp = server.post(slash_command("/echo", "over tcp", signing_secret=SIGNING_SECRET))
    assert (resp.status_code, resp.content) == (200, b"echo: over tcp")


def test_app_mention_is_answered_by_the_listener_with_the_installations_token(server, fake_slack):
    resp = server.post(app_mention("status?", signing_secret=SIGNING_SECRET))
    assert (resp.status_code, resp.content) == (200, b"")
    call = fake_slack.wait_for_call("chat.postMessage")
    assert call.params["text"] == f"you said: <@{DEFAULT_BOT_USER_ID}> status?"
    assert call.token == SEEDED_BOT_TOKEN


def test_block_action_responds_through_the_response_url(server, fake_slack):
    request = block_action(
        "approve", "PR-7", signing_secret=SIGNING_SECRET, response_url=fake_slack.response_url("tcp")
    )
    resp = server.post(request)
    assert (resp.status_code, resp.content) == (200, b"")
    call = fake_slack.wait_for_call(RESPONSE_URL_METHOD)
    assert call.params["text"] == f"approved by <@{DEFAULT_USER_ID}>"


def test_options_and_view_submission(server):
    resp = server.post(options("pick", "abc", signing_secret=SIGNING_SECRET))
    assert resp.json()["options"][0]["text"]["text"] == "ABC"
    resp = server.post(view_submission("form", signing_secret=SIGNING_SECRET))
    assert resp.json() == {"response_action": "errors", "errors": {"b1": "too short"}}


def test_lazy_listener(server, fake_slack):
    resp = server.post(slash_command("/later", "soon", signing_secret=SIGNING_SECRET))
    assert (resp.status_code, resp.content) == (200, b"queued")
    assert fake_slack.wait_for_call("chat.postMessage").params["text"] == "later: soon"


def _answer_times(server: Server, rounds: int) -> list[float]:
    times = []
    with requests.Session() as session:
        for index in range(rounds):
            request = slash_command("/slow", f"job {index}", signing_secret=SIGNING_SECRET)
            started = time.perf_counter()
            resp = session.post(
                server.url + "/slack/events",
                data=request.body.encode(),
                headers={"Content-Type": request.content_type, **request.headers},
                timeout=10,
            )
            times.append(time.perf_counter() - started)
            assert (resp.status_code, resp.content) == (200, b"on it")
    return times


def test_ack_then_a_second_of_work_is_answered_at_once_and_the_work_goes_on(
    server, polling_server, fake_slack
):
    """Under uvicorn the answer comes with ack(), and the listener, still working, is not cancelled."""
    _answer_times(server, 1), _answer_times(polling_server, 1)  # warm-up: first-use imports
    rounds = 10
    answered = time.monotonic()
    fast = _answer_times(server, rounds)
    polling = _answer_times(polling_server, rounds)
    print(
        f"uvicorn, ack then {SLOW_WORK_SECONDS:.0f} s of work, answer time (ms): "
        f"fast-ack median {statistics.median(fast) * 1000:.2f} max {max(fast) * 1000:.2f}, "
        f"Bolt's polling median {statistics.median(polling) * 1000:.2f} max {max(polling) * 1000:.2f}"
    )
    assert max(fast) < 0.25  # well before the listener's work ends
    assert min(polling) >= 0.01  # the control: one 10 ms poll at least
    assert statistics.median(fast) < statistics.median(polling)
    # Every listener finishes its work after the answer, and posts.
    done = fake_slack.wait_for_call("chat.postMessage", count=2 * (rounds + 1), timeout=15)
    assert done.params["text"].startswith("done: job")
    assert done.time - answered >= SLOW_WORK_SECONDS


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES)
def test_bad_input_is_a_4xx_without_a_traceback(server, body, content_type):
    since = len(server.log)
    url = server.url + "/slack/events"
    unsigned = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=10)
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error": "invalid request"}
    signed = requests.post(
        url, data=body, headers={"Content-Type": content_type, **_sign_bytes(body)}, timeout=10
    )
    assert signed.status_code == 400
    assert signed.headers["Content-Type"] == "application/json"
    assert "Traceback" not in _new_log(server, since)


def test_huge_body_is_413(server):
    since = len(server.log)
    request = slash_command("/echo", "x" * 3_000_000, signing_secret=SIGNING_SECRET)  # over 2.5 MiB
    resp = server.post(request)
    assert resp.status_code == 413
    assert resp.json() == {"error": "request body too large"}
    assert "Traceback" not in _new_log(server, since)


def test_oauth_install_page_and_callback(server, fake_slack):
    install = requests.get(server.url + "/slack/install", timeout=10)
    assert install.status_code == 200
    assert "client_id=111.222" in install.text
    set_cookie = install.headers["Set-Cookie"]
    assert "Secure" in set_cookie
    assert "HttpOnly" in set_cookie
    state = re.search(r"slack-app-oauth-state=([^;]+)", set_cookie).group(1)  # type: ignore[union-attr]

    fake_slack.respond(
        "oauth.v2.access",
        {
            "ok": True,
            "app_id": DEFAULT_API_APP_ID,
            "authed_user": {"id": "U0AUTHED"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": "xoxb-new-workspace",
            "bot_user_id": "U0NEWBOT",
            "team": {"id": "T0NEWTEAM", "name": "Newcomers"},
            "enterprise": None,
            "is_enterprise_install": False,
        },
    )
    # The state cookie is Secure: a browser sends it back over HTTPS only, so it is sent by hand here.
    resp = requests.get(
        server.url + f"/slack/oauth_redirect?code=a-code&state={state}",
        headers={"Cookie": f"slack-app-oauth-state={state}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert "Thank you!" in resp.text
    assert fake_slack.last_call("oauth.v2.access").params["code"] == "a-code"
    store = FileInstallationStore(base_dir=str(server.oauth_dir / "installations"))
    installation = store.find_installation(enterprise_id=None, team_id="T0NEWTEAM")
    assert installation is not None
    assert installation.bot_token == "xoxb-new-workspace"

    denied = requests.get(server.url + "/slack/oauth_redirect?error=access_denied&state=x", timeout=10)
    assert (denied.status_code, "access_denied" in denied.text) == (200, True)
    assert requests.post(server.url + "/slack/install", timeout=10).status_code == 405


def test_the_server_logged_no_error(server):
    log = "".join(server.log)
    assert "Traceback" not in log
    assert "Internal Server Error" not in log
