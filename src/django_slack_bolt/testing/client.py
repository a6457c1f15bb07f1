"""``SlackTestClient`` and ``AsyncSlackTestClient``: Django's test clients, sending signed Slack requests.

Sign a slash command in one line::

    response = SlackTestClient().command("/echo", "hi")
    assert response.content == b"echo: hi"

or, for an ``AsyncApp`` served by the async views, in an ``async def`` test::

    response = await AsyncSlackTestClient().command("/echo", "hi")

Requests go through Django's full stack (URLconf, middleware, the events view) to the app of
``SLACK_BOLT["APP"]``, signed with that app's own signing secret. Both clients build their requests
with :class:`SlackRequestsMixin`; only sending differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.test import AsyncClient, Client
from django.urls import NoReverseMatch, reverse

from . import requests as builders
from .requests import (
    DEFAULT_API_APP_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_EVENTS_PATH,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    SlackRequest,
)

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedASGIResponse, _MonkeyPatchedWSGIResponse
    from slack_bolt import App
    from slack_bolt.async_app import AsyncApp

    from .fake_slack import FakeSlack

__all__ = ["AsyncSlackTestClient", "SlackRequestsMixin", "SlackTestClient"]

_EVENTS_URL_NAME = "django_slack_bolt:events"

ResponseT = TypeVar("ResponseT")
"""What a client's :meth:`~SlackRequestsMixin.send` returns: a response, or an awaitable of one."""


class SlackRequestsMixin(Generic[ResponseT]):
    """One method per kind of Slack request, for a Django test client: mixed into
    :class:`SlackTestClient` and :class:`AsyncSlackTestClient`, which add :meth:`send`.

    * ``signing_secret``: the secret to sign with. By default the secret of ``app`` (the app served at
      ``events_path``), else of the app of ``SLACK_BOLT["APP"]``, read at each request (so
      ``override_settings`` is honoured); an app that does not verify requests gets unsigned ones.
      ``signing_secret=None`` in a request method's arguments sends that one request unsigned.
    * ``events_path``: where to POST; by default ``reverse("django_slack_bolt:events")``, falling
      back to ``"/slack/events"``.
    * ``fake_slack``: a :class:`~django_slack_bolt.testing.FakeSlack` whose response URLs go into
      commands, actions and message shortcuts, so what ``respond()`` sends is recorded.
    * ``team_id``, ``user_id``, ``channel_id``, ``api_app_id``: defaults for every request.
    * Any other keyword argument goes to the Django test client.

    Every request method takes the builder's keyword arguments (see
    :mod:`django_slack_bolt.testing.requests`) and returns what :meth:`send` returns.
    """

    def __init__(
        self,
        *,
        signing_secret: str | None = None,
        app: App | AsyncApp | None = None,
        events_path: str | None = None,
        fake_slack: FakeSlack | None = None,
        team_id: str = DEFAULT_TEAM_ID,
        user_id: str = DEFAULT_USER_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        api_app_id: str = DEFAULT_API_APP_ID,
        **client_kwargs: Any,
    ) -> None:
        super().__init__(**client_kwargs)
        self._signing_secret = signing_secret
        self.app = app
        self._events_path = events_path
        self.fake_slack = fake_slack
        self.team_id = team_id
        self.user_id = user_id
        self.channel_id = channel_id
        self.api_app_id = api_app_id

    @property
    def signing_secret(self) -> str | None:
        """The secret requests are signed with (``None``: the app does not verify requests)."""
        if self._signing_secret is not None:
            return self._signing_secret
        from ..http.app_loader import get_configured_app
        from ..http.bolt_app import request_verification_secret

        return request_verification_secret(self.app if self.app is not None else get_configured_app())

    @property
    def events_path(self) -> str:
        """The path requests are POSTed to."""
        if self._events_path is not None:
            return self._events_path
        try:
            return reverse(_EVENTS_URL_NAME)
        except NoReverseMatch:
            return DEFAULT_EVENTS_PATH

    def send(self, request: SlackRequest, path: str | None = None) -> ResponseT:
        """POST ``request`` as it is (signed or not) to ``path`` (default :attr:`events_path`)."""
        raise NotImplementedError

    # -- one method per kind of request -----------------------------------------------------------

    def command(self, command: str, text: str = "", **fields: Any) -> ResponseT:
        """A slash command: ``slack.command("/echo", "hi")``."""
        return self.send(
            builders.slash_command(command, text, **self._fields(fields, channel=True, response_url=True))
        )

    def event(self, event: Mapping[str, Any], **fields: Any) -> ResponseT:
        """Any Events API event: ``slack.event({"type": "team_join", "user": {"id": "U0NEW"}})``."""
        return self.send(builders.event(event, **self._fields(fields, user=False)))

    def app_mention(self, text: str, **fields: Any) -> ResponseT:
        """An ``app_mention`` event: ``slack.app_mention("status?")``."""
        return self.send(builders.app_mention(text, **self._fields(fields, channel=True)))

    def message(self, text: str, **fields: Any) -> ResponseT:
        """A ``message`` event: ``slack.message("hello", channel_id="D00000001")``."""
        return self.send(builders.message(text, **self._fields(fields, channel=True)))

    def block_action(self, action_id: str, value: str | None = None, **fields: Any) -> ResponseT:
        """A ``block_actions`` request: ``slack.block_action("approve", "PR-42")``."""
        in_view = fields.get("view") is not None
        return self.send(
            builders.block_action(
                action_id, value, **self._fields(fields, channel=not in_view, response_url=not in_view)
            )
        )

    def view_submission(
        self, callback_id: str, values: Mapping[str, Any] | None = None, **fields: Any
    ) -> ResponseT:
        """A ``view_submission``: ``slack.view_submission("feedback", {"comment": {"text": "Great!"}})``."""
        return self.send(builders.view_submission(callback_id, values, **self._fields(fields)))

    def global_shortcut(self, callback_id: str, **fields: Any) -> ResponseT:
        """A global shortcut: ``slack.global_shortcut("open_ticket")``."""
        return self.send(builders.global_shortcut(callback_id, **self._fields(fields, app=False)))

    def message_shortcut(
        self, callback_id: str, message: Mapping[str, Any] | None = None, **fields: Any
    ) -> ResponseT:
        """A message shortcut: ``slack.message_shortcut("save_note")``."""
        return self.send(
            builders.message_shortcut(
                callback_id, message, **self._fields(fields, channel=True, response_url=True, app=False)
            )
        )

    def block_suggestion(self, action_id: str, value: str = "", **fields: Any) -> ResponseT:
        """Options for an external select: ``slack.block_suggestion("pick_repo", "djan")``.

        The builder is :func:`~django_slack_bolt.testing.requests.options`; here ``options()`` stays
        Django's HTTP OPTIONS request.
        """
        return self.send(builders.options(action_id, value, **self._fields(fields)))

    def url_verification(self, challenge: str | None = None, **fields: Any) -> ResponseT:
        """The ``url_verification`` handshake: ``slack.url_verification("abc").json()["challenge"]``."""
        fields.setdefault("signing_secret", self.signing_secret)
        return self.send(builders.url_verification(challenge, **fields))

    def _fields(
        self,
        fields: dict[str, Any],
        *,
        user: bool = True,
        channel: bool = False,
        response_url: bool = False,
        app: bool = True,
    ) -> dict[str, Any]:
        """``fields`` with this client's defaults for the ids the builder takes."""
        merged = dict(fields)
        if "signing_secret" not in merged:
            merged["signing_secret"] = self.signing_secret
        merged.setdefault("team_id", self.team_id)
        if user:
            merged.setdefault("user_id", self.user_id)
        if channel:
            merged.setdefault("channel_id", self.channel_id)
        if app:
            merged.setdefault("api_app_id", self.api_app_id)
        if response_url and self.fake_slack is not None and merged.get("response_url") is None:
            merged["response_url"] = self.fake_slack.response_url()
        return merged


class SlackTestClient(SlackRequestsMixin["_MonkeyPatchedWSGIResponse"], Client):
    """A :class:`django.test.Client` with one method per kind of Slack request
    (:class:`SlackRequestsMixin` lists the arguments), each returning Django's test response::

        slack = SlackTestClient(fake_slack=fake)
        slack.command("/deploy", "api", user_id="U0ALICE")
        slack.block_action("approve", "PR-42")
        slack.view_submission("feedback", {"comment": {"text": "Great!"}})
        slack.send(slash_command("/deploy", signing_secret=None))  # an unsigned request: 401
    """

    def send(self, request: SlackRequest, path: str | None = None) -> _MonkeyPatchedWSGIResponse:
        """POST ``request`` as it is (signed or not) to ``path`` (default :attr:`events_path`)."""
        return self.post(
            path or self.events_path,
            data=request.body,
            content_type=request.content_type,
            headers=request.headers,
        )


class AsyncSlackTestClient(SlackRequestsMixin["Awaitable[_MonkeyPatchedASGIResponse]"], AsyncClient):
    """:class:`SlackTestClient` for an ``AsyncApp``: a :class:`django.test.AsyncClient` whose request
    methods return an awaitable of the response, through Django's async request path (the async views)::

        slack = AsyncSlackTestClient(fake_slack=fake)
        response = await slack.command("/deploy", "api")
        await slack.app_mention("status?")

    Where the listeners' ORM calls run depends on how the test's event loop is run. Django's test
    runner runs ``async def`` test methods with ``async_to_sync``: thread-sensitive code, the
    listeners' included, runs in the test's thread, inside its transaction (a ``TestCase`` works).
    pytest-asyncio runs the loop itself, as a server does: each listener then gets a thread of its own
    (see :class:`~django_slack_bolt.http.connections.ListenerOrmThread`) and the test needs
    ``@pytest.mark.django_db(transaction=True)``. Listeners keep running after the answer: wait for
    what they do (``await asyncio.to_thread(fake_slack.wait_for_call, ...)``) before the test ends.
    """

    def send(self, request: SlackRequest, path: str | None = None) -> Awaitable[_MonkeyPatchedASGIResponse]:
        """POST ``request`` as it is (signed or not) to ``path`` (default :attr:`events_path`)."""
        return self.post(
            path or self.events_path,
            data=request.body,
            content_type=request.content_type,
            headers=request.headers,
        )
