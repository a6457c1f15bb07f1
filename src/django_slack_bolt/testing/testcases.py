"""Django ``TestCase`` classes for Slack apps: a fake Slack per class, a signed client per test.

::

    from django_slack_bolt.testing import SlackTestCase

    class DeployTests(SlackTestCase):
        def test_deploy_posts_to_the_channel(self):
            self.slack.command("/deploy", "api")
            self.assertSlackCalled("chat.postMessage", channel="C00000001", text="Deploying api")
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from django.test import SimpleTestCase, TestCase, TransactionTestCase

from .client import SlackTestClient
from .fake_slack import FakeSlack, RecordedCall

if TYPE_CHECKING:
    from unittest import TestResult

    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

    _Base = SimpleTestCase
else:
    _Base = object

__all__ = ["SlackSimpleTestCase", "SlackTestCase", "SlackTestCaseMixin", "SlackTransactionTestCase"]


class SlackTestCaseMixin(_Base):
    """Mix into a Django test case (before it): ``class T(SlackTestCaseMixin, TestCase)``.

    For the whole class, a started :class:`FakeSlack` (``self.fake_slack``) that the app answers to:
    ``slack_app`` if the class sets it, else the app of ``SLACK_BOLT["APP"]`` (resolved after the
    class's ``override_settings``). Before each test the fake is reset and ``self.slack`` is a fresh
    :class:`SlackTestClient` whose response URLs point at the fake. Nothing depends on ``setUp``, so
    overriding it without calling ``super()`` is fine.
    """

    slack_app: ClassVar[App | None] = None
    """The app under test; ``None``: the app of ``SLACK_BOLT["APP"]``. Set ``slack_events_path`` too
    when it is served somewhere else than ``django_slack_bolt:events``."""
    slack_events_path: ClassVar[str | None] = None
    """Where ``self.slack`` posts; ``None``: :attr:`SlackTestClient.events_path`."""
    slack_fake_latency: ClassVar[float] = 0.0
    """Seconds the fake waits before each answer (Slack's round trip)."""
    slack_wait_timeout: float = 2.0
    """How long :meth:`assertSlackCalled` waits for a listener running in the background."""

    fake_slack: ClassVar[FakeSlack]
    slack: SlackTestClient
    _slack_app_under_test: ClassVar[App | AsyncApp]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        from ..http.app_loader import get_configured_app

        # Not stored in slack_app: subclasses (and reruns under other settings) resolve it again.
        cls._slack_app_under_test = cls.slack_app if cls.slack_app is not None else get_configured_app()
        cls.fake_slack = FakeSlack(latency=cls.slack_fake_latency).start()
        cls.addClassCleanup(cls.fake_slack.stop)
        cls.addClassCleanup(cls.fake_slack.point_app(cls._slack_app_under_test).restore)
        # For debug() runs, which skip run(): a client for the class.
        cls.slack = cls._make_slack_client()

    @classmethod
    def _make_slack_client(cls) -> SlackTestClient:
        return SlackTestClient(
            app=cls._slack_app_under_test, events_path=cls.slack_events_path, fake_slack=cls.fake_slack
        )

    def run(self, result: TestResult | None = None) -> TestResult | None:
        # Runs before setUp() for every test, whatever subclasses do in setUp().
        self.fake_slack.reset()
        self.slack = self._make_slack_client()
        return super().run(result)

    def assertSlackCalled(self, method: str, /, **expected_params: Any) -> RecordedCall:
        """Assert Slack's ``method`` was (or, within :attr:`slack_wait_timeout`, is) called with these params.

        Params are compared with ``==`` (form-encoded values are strings); the matching call is
        returned for further checks::

            call = self.assertSlackCalled("chat.postMessage", channel="C00000001")
            self.assertIn("Deploying", call.params["text"])
        """
        try:
            return self.fake_slack.wait_for_call(
                method, timeout=self.slack_wait_timeout, params=expected_params
            )
        except AssertionError as error:
            calls = self.fake_slack.calls_to(method)
            detail = "".join(f"\n  {call.params!r}" for call in calls)
            raise self.failureException(
                f"{error}{' Calls to ' + method + ':' + detail if calls else ''}"
            ) from None

    def assertSlackNotCalled(self, method: str, /, **params: Any) -> None:
        """Assert no call to ``method`` (with these params, if given) was received so far."""
        calls = self.fake_slack.calls_to(method, params)
        if calls:
            raise self.failureException(
                f"{method} was called {len(calls)} time(s): " + ", ".join(repr(call.params) for call in calls)
            )

    def assertSlackCallCount(self, method: str, count: int, /) -> None:
        """Assert ``method`` was called exactly ``count`` times, waiting for calls still to come."""
        if count > 0:
            with contextlib.suppress(AssertionError):
                self.fake_slack.wait_for_call(method, timeout=self.slack_wait_timeout, count=count)
        calls = self.fake_slack.calls_to(method)
        if len(calls) != count:
            raise self.failureException(f"{method} was called {len(calls)} time(s), not {count}")


class SlackSimpleTestCase(SlackTestCaseMixin, SimpleTestCase):
    """:class:`SimpleTestCase` (no database) with the Slack test kit."""


class SlackTransactionTestCase(SlackTestCaseMixin, TransactionTestCase):
    """:class:`TransactionTestCase` with the Slack test kit: for listeners that write to the database
    from their own threads (they do not see a ``TestCase`` transaction)."""


class SlackTestCase(SlackTestCaseMixin, TestCase):
    """:class:`TestCase` with the Slack test kit."""
