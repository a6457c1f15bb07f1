"""Test kit for Slack apps served by django-slack-bolt: signed requests in, recorded Slack calls out.

With pytest (the fixtures come with the package)::

    def test_deploy(slack_client, fake_slack):
        assert slack_client.command("/deploy", "api").status_code == 200
        assert fake_slack.wait_for_call("chat.postMessage").params["text"] == "Deploying api"

With Django's test runner::

    class DeployTests(SlackTestCase):
        def test_deploy(self):
            self.slack.command("/deploy", "api")
            self.assertSlackCalled("chat.postMessage", text="Deploying api")

The pieces: :mod:`~django_slack_bolt.testing.requests` builds signed Slack requests,
:class:`SlackTestClient` posts them through Django (:class:`AsyncSlackTestClient` through its async
path, for an ``AsyncApp``), :class:`FakeSlack` stands in for the Web API and response URLs, and
:mod:`~django_slack_bolt.testing.testcases` / the pytest plugin wire them up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AsyncSlackTestClient, SlackTestClient
    from .fake_oauth import AUTHORIZE_METHOD, FakeOAuthConfig, FakeToken, FakeWorkspace
    from .fake_slack import RESPONSE_URL_METHOD, AppPatch, FakeSlack, RecordedCall
    from .requests import (
        DEFAULT_API_APP_ID,
        DEFAULT_BOT_ID,
        DEFAULT_BOT_USER_ID,
        DEFAULT_CHANNEL_ID,
        DEFAULT_TEAM_ID,
        DEFAULT_USER_ID,
        SlackRequest,
        app_home_opened,
        app_mention,
        assistant_thread_context_changed,
        assistant_thread_started,
        attachment_action,
        block_action,
        block_suggestion,
        dialog_cancellation,
        dialog_submission,
        dialog_suggestion,
        event,
        function_executed,
        global_shortcut,
        interactive,
        message,
        message_shortcut,
        options,
        sign,
        slash_command,
        url_verification,
        view_closed,
        view_submission,
    )
    from .testcases import SlackSimpleTestCase, SlackTestCase, SlackTestCaseMixin, SlackTransactionTestCase

__all__ = [
    "AUTHORIZE_METHOD",
    "DEFAULT_API_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_TEAM_ID",
    "DEFAULT_USER_ID",
    "RESPONSE_URL_METHOD",
    "AppPatch",
    "AsyncSlackTestClient",
    "FakeOAuthConfig",
    "FakeSlack",
    "FakeToken",
    "FakeWorkspace",
    "RecordedCall",
    "SlackRequest",
    "SlackSimpleTestCase",
    "SlackTestCase",
    "SlackTestCaseMixin",
    "SlackTestClient",
    "SlackTransactionTestCase",
    "app_home_opened",
    "app_mention",
    "assistant_thread_context_changed",
    "assistant_thread_started",
    "attachment_action",
    "block_action",
    "block_suggestion",
    "dialog_cancellation",
    "dialog_submission",
    "dialog_suggestion",
    "event",
    "function_executed",
    "global_shortcut",
    "interactive",
    "message",
    "message_shortcut",
    "options",
    "sign",
    "slash_command",
    "url_verification",
    "view_closed",
    "view_submission",
]

# Where each public name lives. Imported on first use, so that importing the pytest plugin (loaded in
# every pytest run of a project that installs this package) does not import Django's test framework.
_MODULES = {
    **dict.fromkeys(["AsyncSlackTestClient", "SlackTestClient"], ".client"),
    **dict.fromkeys(["RESPONSE_URL_METHOD", "AppPatch", "FakeSlack", "RecordedCall"], ".fake_slack"),
    **dict.fromkeys(["AUTHORIZE_METHOD", "FakeOAuthConfig", "FakeToken", "FakeWorkspace"], ".fake_oauth"),
    **dict.fromkeys(
        ["SlackSimpleTestCase", "SlackTestCase", "SlackTestCaseMixin", "SlackTransactionTestCase"],
        ".testcases",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES.get(name, ".requests"), __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
