"""pytest fixtures of the django-slack-bolt test kit (registered through the ``pytest11`` entry point).

Installed with the package, so pytest loads it in every project: it imports nothing from Django at
import time, and the fixtures import what they need when used.

* ``fake_slack_session`` (session): one started :class:`~django_slack_bolt.testing.FakeSlack` for the
  whole run, stopped at the end.
* ``fake_slack`` (function): that server, reset before the test (no calls, scripted answers or latency
  left over from other tests). Wait for the calls a test triggers in the background
  (``fake_slack.wait_for_call``), or they may arrive during the next test.
* ``slack_app`` (function): the app of ``SLACK_BOLT["APP"]``, its Web API client pointed at
  ``fake_slack`` for the test and restored afterwards.
* ``slack_client`` (function): a :class:`~django_slack_bolt.testing.SlackTestClient` for ``slack_app``
  whose response URLs point at ``fake_slack``; using it means the app cannot reach the real Slack.
* ``async_slack_client`` (function): the same as an
  :class:`~django_slack_bolt.testing.AsyncSlackTestClient`, for an ``AsyncApp`` served by the async
  views: ``await async_slack_client.command("/echo", "hi")`` in an ``async def`` test.

None of them needs the database; request pytest-django's ``db`` (or ``transactional_db`` for
listeners that write from their own threads) when your listeners use it::

    def test_echo(slack_client):
        assert slack_client.command("/echo", "hi").content == b"echo: hi"

    def test_mention_replies(slack_client, fake_slack):
        slack_client.app_mention("hello")
        assert fake_slack.wait_for_call("chat.postMessage").params["channel"] == "C00000001"
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

    from .client import AsyncSlackTestClient, SlackTestClient
    from .fake_slack import FakeSlack


@pytest.fixture(scope="session")
def fake_slack_session() -> Iterator[FakeSlack]:
    """A :class:`FakeSlack` started once for the test session (not reset: prefer ``fake_slack``)."""
    from .fake_slack import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_slack(fake_slack_session: FakeSlack) -> FakeSlack:
    """The session's :class:`FakeSlack`, reset for this test."""
    fake_slack_session.reset()
    return fake_slack_session


@pytest.fixture
def slack_app(fake_slack: FakeSlack) -> Iterator[App | AsyncApp]:
    """The app of ``SLACK_BOLT["APP"]``, talking to ``fake_slack`` during the test."""
    from ..http.app_loader import get_configured_app

    app = get_configured_app()
    with fake_slack.point_app(app):
        yield app


@pytest.fixture
def slack_client(slack_app: App | AsyncApp, fake_slack: FakeSlack) -> SlackTestClient:
    """A :class:`SlackTestClient` signing with ``slack_app``'s secret; response URLs on ``fake_slack``."""
    from .client import SlackTestClient

    return SlackTestClient(app=slack_app, fake_slack=fake_slack)


@pytest.fixture
def async_slack_client(slack_app: App | AsyncApp, fake_slack: FakeSlack) -> AsyncSlackTestClient:
    """An :class:`AsyncSlackTestClient` signing with ``slack_app``'s secret, response URLs on the fake."""
    from .client import AsyncSlackTestClient

    return AsyncSlackTestClient(app=slack_app, fake_slack=fake_slack)
