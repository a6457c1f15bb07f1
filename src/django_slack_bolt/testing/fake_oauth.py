"""Slack's OAuth side of :class:`~django_slack_bolt.testing.FakeSlack`: workspaces, installs, tokens.

An app's whole install flow runs offline against the fake. The app's install page links to the fake's
authorize page (:attr:`FakeSlack.authorize_url <FakeOAuthMixin.authorize_url>`), which sends the
browser back to the app's redirect URI with a ``code``; the app exchanges the code at
``oauth.v2.access`` for the tokens of a :class:`FakeWorkspace`::

    with FakeSlack(client_id="111.222", client_secret="shh") as fake, fake.point_app(app):
        fake.add_workspace("T1", team_name="Acme")
        ...  # GET the install page, follow its link, follow the fake's redirect to the callback
        assert installation_store.find_installation(team_id="T1").bot_token == fake.bot_token("T1")

With token rotation (``FakeSlack(token_rotation=True)``) access tokens expire and ``oauth.v2.access``
refreshes them; as on Slack, a refresh token works once, so two processes refreshing with the same one
get one new token and one ``invalid_refresh_token``.

The tokens the fake issued are checked on every Web API call: ``auth.test`` reports their workspace,
user and bot, ``auth.revoke`` revokes them, and a revoked or expired one is refused (``token_revoked``,
``token_expired``). Tokens the fake did not issue (a test's ``"xoxb-1"``) are answered as before,
unless ``strict_tokens`` is on.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import itertools
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .requests import DEFAULT_CHANNEL_ID, DEFAULT_USER_ID

__all__ = [
    "AUTHORIZE_METHOD",
    "DEFAULT_TOKEN_EXPIRES_IN",
    "FakeOAuthConfig",
    "FakeOAuthMixin",
    "FakeToken",
    "FakeWorkspace",
    "TokenKind",
    "TokenStatus",
]

AUTHORIZE_METHOD: Final = "oauth.v2.authorize"
"""The ``method`` of recorded visits to the fake's authorize page (``/oauth/v2/authorize``)."""

AUTHORIZE_PATH: Final = "/oauth/v2/authorize"

DEFAULT_TOKEN_EXPIRES_IN: Final = 43_200
"""Seconds a rotating access token lives: Slack's 12 hours."""

CODE_EXPIRES_IN: Final = 600
"""Seconds an authorization code can be exchanged: Slack's 10 minutes."""

TokenKind = Literal["bot", "user"]
TokenStatus = Literal["active", "expired", "revoked"]

# Web API methods that authenticate with the client's credentials (or nothing), not a token.
_TOKENLESS_METHODS: Final = frozenset(
    {
        "api.test",
        "oauth.access",
        "oauth.v2.access",
        "oauth.v2.exchange",
        "oauth.v2.user.access",
        "openid.connect.token",
    }
)
_SCOPE_SEPARATORS: Final = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class FakeWorkspace:
    """A Slack workspace (or, with ``is_enterprise_install``, an Enterprise Grid organization).

    Made by :meth:`FakeOAuthMixin.add_workspace`. ``token_rotation`` and ``token_expires_in`` are
    ``None`` when the workspace follows the fake's :class:`FakeOAuthConfig`.
    """

    team_id: str | None
    """``None`` for an organization-wide (enterprise) install."""
    team_name: str | None
    team_domain: str
    enterprise_id: str | None
    enterprise_name: str | None
    is_enterprise_install: bool
    bot_user_id: str
    bot_id: str
    installer_user_id: str
    """Who installs the app: ``authed_user.id``, and what ``auth.test`` says for the user token."""
    token_rotation: bool | None = None
    token_expires_in: int | None = None
    webhook_channel: str = "#general"
    webhook_channel_id: str = DEFAULT_CHANNEL_ID

    @property
    def id(self) -> str:
        """The team ID (the enterprise ID for an org-wide install): the authorize page's ``team``."""
        return self.team_id if self.team_id is not None else str(self.enterprise_id)

    @property
    def url(self) -> str:
        """What ``auth.test`` answers as ``url``."""
        if self.is_enterprise_install:
            return f"https://{self.team_domain}.enterprise.slack.com/"
        return f"https://{self.team_domain}.slack.com/"

    def team(self) -> dict[str, str] | None:
        """The ``team`` object of an ``oauth.v2.access`` answer."""
        if self.team_id is None:
            return None
        return {"id": self.team_id, "name": self.team_name or self.team_id}

    def enterprise(self) -> dict[str, str] | None:
        """The ``enterprise`` object of an ``oauth.v2.access`` answer."""
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name or self.enterprise_id}


@dataclass(frozen=True)
class FakeToken:
    """An access token the fake issued, as it stands when asked (a snapshot).

    ``user_id`` is the bot user for a bot token and the installing user for a user token.
    ``refresh_token`` is the one issued with this access token (``None`` without token rotation); it
    works only while no newer token of the same grant was issued.
    """

    token: str
    kind: TokenKind
    workspace: FakeWorkspace
    user_id: str
    scopes: tuple[str, ...]
    refresh_token: str | None
    issued_at: float
    expires_at: float | None
    status: TokenStatus

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class FakeOAuthConfig:
    """How the fake's OAuth side behaves: ``FakeSlack(...)`` or :meth:`~FakeOAuthMixin.configure_oauth`.

    * ``client_id`` / ``client_secret``: the app's credentials, checked by the authorize page (the id)
      and ``oauth.v2.access`` (both); ``None`` accepts any.
    * ``redirect_uri``: where the authorize page redirects when the URL has no ``redirect_uri``
      (the first Redirect URL of the app's settings, on Slack).
    * ``token_rotation``: issue expiring ``xoxe.xoxb-``/``xoxe.xoxp-`` tokens with refresh tokens;
      ``token_expires_in`` is their lifetime in seconds (Bolt refreshes tokens that expire within
      two hours, so a short one makes the next request refresh).
    * ``strict_tokens``: refuse every token the fake did not issue (``invalid_auth``) and calls
      without one (``not_authed``), instead of answering them as usual.
    """

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str | None = None
    token_rotation: bool = False
    token_expires_in: int = DEFAULT_TOKEN_EXPIRES_IN
    strict_tokens: bool = False

    def __post_init__(self) -> None:
        if self.token_expires_in <= 0:
            raise ValueError("token_expires_in must be a positive number of seconds")


class _Keep(enum.Enum):
    KEEP = "keep"


_KEEP: Final = _Keep.KEEP


@dataclass
class _Grant:
    """What a workspace granted the app for one bot or user: its tokens over time, one refresh token."""

    workspace: FakeWorkspace
    kind: TokenKind
    user_id: str
    scopes: list[str]
    rotation: bool
    tokens: list[_Token] = field(default_factory=list)
    refresh_token: str | None = None  # the only one that works; older ones were used up
    revoked: bool = False


@dataclass
class _Token:
    token: str
    grant: _Grant
    issued_at: float
    expires_at: float | None
    refresh_token: str | None
    revoked: bool = False
    expired: bool = False  # by FakeOAuthMixin.expire_token, before expires_at

    def status(self, now: float) -> TokenStatus:
        if self.revoked:
            return "revoked"
        if self.expired or (self.expires_at is not None and now >= self.expires_at):
            return "expired"
        return "active"

    def snapshot(self, now: float) -> FakeToken:
        return FakeToken(
            token=self.token,
            kind=self.grant.kind,
            workspace=self.grant.workspace,
            user_id=self.grant.user_id,
            scopes=tuple(self.grant.scopes),
            refresh_token=self.refresh_token,
            issued_at=self.issued_at,
            expires_at=self.expires_at,
            status=self.status(now),
        )


@dataclass
class _Code:
    workspace: FakeWorkspace
    client_id: str
    scopes: list[str]
    user_scopes: list[str]
    redirect_uri: str | None
    issued_at: float


class FakeOAuthMixin:
    """Slack's OAuth side, a part of :class:`~django_slack_bolt.testing.FakeSlack` (see this module).

    Thread-safe: every method may be called while the server answers requests.
    """

    # Provided by FakeSlack.
    host: str
    port: int
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    api_app_id: str

    def response_url(self, path_suffix: str | None = None) -> str:
        raise NotImplementedError

    def _init_oauth(self, config: FakeOAuthConfig) -> None:
        self._oauth_lock = threading.Lock()
        self._oauth_initial_config = config
        self._oauth_config = config
        self._oauth_serial = itertools.count(1)
        self._workspaces: dict[str, FakeWorkspace] = {}
        self._default_workspace_id: str | None = None
        self._codes: dict[str, _Code] = {}
        self._grants: dict[tuple[str, TokenKind, str], _Grant] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._denials: deque[str] = deque()
        self._refresh_count = 0

    def _reset_oauth(self) -> None:
        with self._oauth_lock:
            self._oauth_config = self._oauth_initial_config
            self._workspaces.clear()
            self._default_workspace_id = None
            self._codes.clear()
            self._grants.clear()
            self._tokens.clear()
            self._refresh_tokens.clear()
            self._denials.clear()
            self._refresh_count = 0

    # -- configuration -----------------------------------------------------------------------------

    @property
    def authorize_url(self) -> str:
        """The authorize page: what Bolt's ``OAuthSettings(authorization_url=...)`` takes.

        :meth:`FakeSlack.point_app` points an app's OAuth flow here by itself.
        """
        return f"http://{self.host}:{self.port}{AUTHORIZE_PATH}"

    @property
    def oauth_config(self) -> FakeOAuthConfig:
        """The current :class:`FakeOAuthConfig`."""
        with self._oauth_lock:
            return self._oauth_config

    def configure_oauth(
        self,
        *,
        client_id: str | _Keep | None = _KEEP,
        client_secret: str | _Keep | None = _KEEP,
        redirect_uri: str | _Keep | None = _KEEP,
        token_rotation: bool | _Keep = _KEEP,
        token_expires_in: int | _Keep = _KEEP,
        strict_tokens: bool | _Keep = _KEEP,
    ) -> FakeOAuthConfig:
        """Change the given :class:`FakeOAuthConfig` fields until :meth:`reset`; returns the new config.

        ::

            fake_slack.configure_oauth(client_id="111.222", client_secret="shh", token_rotation=True)
        """
        given: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "token_rotation": token_rotation,
            "token_expires_in": token_expires_in,
            "strict_tokens": strict_tokens,
        }
        changes = {name: value for name, value in given.items() if value is not _KEEP}
        with self._oauth_lock:
            self._oauth_config = dataclasses.replace(self._oauth_config, **changes)
            return self._oauth_config

    # -- workspaces --------------------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str | None = None,
        *,
        team_name: str | None = None,
        team_domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        is_enterprise_install: bool = False,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        installer_user_id: str = DEFAULT_USER_ID,
        token_rotation: bool | None = None,
        token_expires_in: int | None = None,
        default: bool = False,
    ) -> FakeWorkspace:
        """Add a workspace that the authorize page can install apps into; returns it.

        Unset ids are made up and unique (``T0W000001``, bot user ``U0B000001``, bot ``B0W000001``).
        The first workspace added (or the one with ``default=True``) is where the authorize page
        installs when its URL has no ``team``. ``is_enterprise_install=True`` makes an Enterprise Grid
        organization for org-wide installs: it needs ``enterprise_id`` and has no team.
        ``token_rotation`` / ``token_expires_in`` override the fake's config for this workspace::

            acme = fake.add_workspace("T1", team_name="Acme", installer_user_id="U1")
            org = fake.add_workspace(enterprise_id="E1", enterprise_name="Org", is_enterprise_install=True)
        """
        if token_expires_in is not None and token_expires_in <= 0:
            raise ValueError("token_expires_in must be a positive number of seconds")
        with self._oauth_lock:
            n = next(self._oauth_serial)
            if is_enterprise_install:
                if enterprise_id is None:
                    raise ValueError("An enterprise (org-wide) install needs an enterprise_id")
                if team_id is not None:
                    raise ValueError("An enterprise (org-wide) install has no team_id")
            elif team_id is None:
                team_id = f"T0W{n:06d}"
            workspace = FakeWorkspace(
                team_id=team_id,
                team_name=team_name if team_name is not None or team_id is None else f"Workspace {team_id}",
                team_domain=team_domain or (team_id or str(enterprise_id)).lower(),
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name,
                is_enterprise_install=is_enterprise_install,
                bot_user_id=bot_user_id or f"U0B{n:06d}",
                bot_id=bot_id or f"B0W{n:06d}",
                installer_user_id=installer_user_id,
                token_rotation=token_rotation,
                token_expires_in=token_expires_in,
            )
            if workspace.id in self._workspaces:
                raise ValueError(f"FakeSlack already has a workspace {workspace.id}")
            self._workspaces[workspace.id] = workspace
            if default or self._default_workspace_id is None:
                self._default_workspace_id = workspace.id
            return workspace

    @property
    def workspaces(self) -> list[FakeWorkspace]:
        """The workspaces added (and the default one, once used), in order."""
        with self._oauth_lock:
            return list(self._workspaces.values())

    def get_workspace(self, team_id: str) -> FakeWorkspace:
        """The workspace with this team ID (or enterprise ID, for an org); ``KeyError`` if none."""
        with self._oauth_lock:
            return self._workspace(team_id)

    @property
    def default_workspace(self) -> FakeWorkspace:
        """Where the authorize page installs without ``team``: the first added, unless changed.

        Without any workspace added, one is made from the fake's own ids (``team_id``, ``bot_user_id``,
        ``bot_id``, installed by ``DEFAULT_USER_ID``), so a flow works with no setup at all.
        """
        with self._oauth_lock:
            return self._default_workspace()

    def set_default_workspace(self, workspace: FakeWorkspace | str) -> None:
        """Make ``workspace`` (or the one with this team ID) where installs without ``team`` go."""
        with self._oauth_lock:
            self._default_workspace_id = self._workspace(
                workspace.id if isinstance(workspace, FakeWorkspace) else workspace
            ).id

    def deny_authorization(self, error: str = "access_denied", *, times: int = 1) -> None:
        """Make the next ``times`` visits to the authorize page redirect with ``error`` and no code.

        What Slack does when the user clicks Cancel: ``<redirect_uri>?error=access_denied&state=...``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._oauth_lock:
            self._denials.extend([error] * times)

    # -- tokens ------------------------------------------------------------------------------------

    def issue_token(
        self,
        workspace: FakeWorkspace | str | None = None,
        *,
        kind: TokenKind = "bot",
        user_id: str | None = None,
        scopes: Iterable[str] = ("chat:write",),
        token_rotation: bool | None = None,
    ) -> FakeToken:
        """Issue a token as an install would, without the flow (to seed an installation store).

        ``workspace`` defaults to :attr:`default_workspace`; ``user_id`` (user tokens) to its installer.
        Without token rotation a workspace keeps its token, as on Slack: issuing again returns the
        active one with the scopes added. ``token_rotation`` overrides the workspace's setting.
        """
        with self._oauth_lock:
            target = self._resolve(workspace)
            user = target.bot_user_id if kind == "bot" else (user_id or target.installer_user_id)
            record = self._install(target, kind, user, list(scopes), time.time(), rotation=token_rotation)
            return record.snapshot(time.time())

    def tokens(
        self, workspace: FakeWorkspace | str | None = None, *, kind: TokenKind | None = None
    ) -> list[FakeToken]:
        """Every token issued (of ``workspace``, of ``kind``), oldest first, with its status now."""
        with self._oauth_lock:
            wanted = None if workspace is None else self._resolve(workspace).id
            now = time.time()
            return [
                record.snapshot(now)
                for record in self._tokens.values()
                if (wanted is None or record.grant.workspace.id == wanted)
                and (kind is None or record.grant.kind == kind)
            ]

    def token_info(self, token: str) -> FakeToken | None:
        """What the fake knows of ``token`` (``None`` if it did not issue it)."""
        with self._oauth_lock:
            record = self._tokens.get(token)
            return None if record is None else record.snapshot(time.time())

    def bot_token(self, workspace: FakeWorkspace | str | None = None) -> str:
        """The newest active bot token of ``workspace`` (default: :attr:`default_workspace`).

        Raises ``AssertionError`` when the app has no active bot token there.
        """
        with self._oauth_lock:
            target = self._resolve(workspace)
            return self._current(target, "bot", target.bot_user_id)

    def user_token(self, workspace: FakeWorkspace | str | None = None, user_id: str | None = None) -> str:
        """The newest active user token of ``user_id`` (default: the installer) in ``workspace``."""
        with self._oauth_lock:
            target = self._resolve(workspace)
            return self._current(target, "user", user_id or target.installer_user_id)

    def expire_token(self, token: str) -> None:
        """Make ``token`` expired now: Web API calls with it answer ``token_expired``.

        Its refresh token still works (refreshing is how an app recovers).
        """
        with self._oauth_lock:
            self._issued(token).expired = True

    def revoke_token(self, token: str) -> None:
        """Revoke ``token`` as ``auth.revoke`` does: it, its grant's other tokens and refresh token stop."""
        with self._oauth_lock:
            self._revoke(self._issued(token).grant)

    @property
    def refresh_count(self) -> int:
        """How many times ``oauth.v2.access`` refreshed a token (failed attempts not counted)."""
        with self._oauth_lock:
            return self._refresh_count

    # -- serving (called from the server's threads) ------------------------------------------------

    def _token_rejection(self, method: str, token: str | None) -> dict[str, Any] | None:
        """The error Slack answers for ``token`` on ``method``, or ``None`` to answer normally."""
        if method in _TOKENLESS_METHODS:
            return None
        with self._oauth_lock:
            record = self._tokens.get(token) if token else None
            if record is None:
                if not self._oauth_config.strict_tokens:
                    return None
                return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
            status = record.status(time.time())
        if status == "revoked":
            return {"ok": False, "error": "token_revoked"}
        if status == "expired":
            return {"ok": False, "error": "token_expired"}
        return None

    def _oauth_body(
        self, method: str, params: Mapping[str, Any], headers: Mapping[str, str], token: str | None
    ) -> dict[str, Any] | None:
        """The answer of an OAuth-aware method, or ``None`` when the usual default applies."""
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, headers)
        if method == "auth.test" and token:
            return self._auth_test_for(token)
        if method == "auth.revoke":
            return self._auth_revoke(token, params)
        return None

    def _authorize_answer(self, params: Mapping[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """The authorize page: ``(status, headers, recorded response)``; a 302 carries ``Location``."""
        client_id = _text(params.get("client_id"))
        redirect_uri = _text(params.get("redirect_uri")) or None
        scopes, user_scopes = _scopes(params.get("scope")), _scopes(params.get("user_scope"))
        team = _text(params.get("team"))
        with self._oauth_lock:
            config = self._oauth_config
            if not client_id or (config.client_id is not None and client_id != config.client_id):
                return 400, {}, {"ok": False, "error": "invalid_client_id"}
            target = redirect_uri or config.redirect_uri
            if not target:
                return 400, {}, {"ok": False, "error": "bad_redirect_uri"}
            if not scopes and not user_scopes:
                return 400, {}, {"ok": False, "error": "invalid_scope"}
            workspace = self._workspaces.get(team) if team else self._default_workspace()
            if workspace is None:
                return 400, {}, {"ok": False, "error": "team_not_found"}
            reply: dict[str, str] = {}
            if self._denials:
                reply["error"] = self._denials.popleft()
            else:
                code = f"{next(self._oauth_serial)}.{secrets.token_hex(16)}"
                self._codes[code] = _Code(
                    workspace, client_id, scopes, user_scopes, redirect_uri, time.time()
                )
                reply["code"] = code
        if "state" in params:
            reply["state"] = _text(params["state"])
        location = _with_query(target, reply)
        return 302, {"Location": location}, {"location": location, "team": workspace.id, **reply}

    def _oauth_v2_access(self, params: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        client_id, client_secret = _client_credentials(params, headers)
        grant_type = _text(params.get("grant_type")) or "authorization_code"
        with self._oauth_lock:
            config = self._oauth_config
            if not client_id or (config.client_id is not None and client_id != config.client_id):
                return {"ok": False, "error": "invalid_client_id"}
            if config.client_secret is not None and not secrets.compare_digest(
                client_secret.encode(), config.client_secret.encode()
            ):
                return {"ok": False, "error": "bad_client_secret"}
            if grant_type == "authorization_code":
                return self._exchange_code(client_id, params)
            if grant_type == "refresh_token":
                return self._refresh(_text(params.get("refresh_token")))
        return {"ok": False, "error": "invalid_grant_type"}

    def _exchange_code(self, client_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        now = time.time()
        code = self._codes.get(_text(params.get("code")))
        if code is None or code.client_id != client_id or now - code.issued_at > CODE_EXPIRES_IN:
            return {"ok": False, "error": "invalid_code"}
        if code.redirect_uri is not None and _text(params.get("redirect_uri")) != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        del self._codes[_text(params.get("code"))]  # a code works once
        workspace = code.workspace
        body: dict[str, Any] = {"ok": True, "app_id": self.api_app_id}
        authed_user: dict[str, Any] = {"id": workspace.installer_user_id}
        if code.user_scopes:
            user = self._install(workspace, "user", workspace.installer_user_id, code.user_scopes, now)
            authed_user.update(scope=",".join(user.grant.scopes), access_token=user.token, token_type="user")
            if user.refresh_token is not None:
                authed_user.update(refresh_token=user.refresh_token, expires_in=self._expires_in(workspace))
        body["authed_user"] = authed_user
        if code.scopes:
            bot = self._install(workspace, "bot", workspace.bot_user_id, code.scopes, now)
            body.update(
                scope=",".join(bot.grant.scopes),
                token_type="bot",
                access_token=bot.token,
                bot_user_id=workspace.bot_user_id,
            )
            if bot.refresh_token is not None:
                body.update(refresh_token=bot.refresh_token, expires_in=self._expires_in(workspace))
        body.update(
            team=workspace.team(),
            enterprise=workspace.enterprise(),
            is_enterprise_install=workspace.is_enterprise_install,
        )
        if "incoming-webhook" in code.scopes:
            body["incoming_webhook"] = {
                "channel": workspace.webhook_channel,
                "channel_id": workspace.webhook_channel_id,
                "configuration_url": f"{workspace.url}services/{workspace.bot_id}",
                "url": self.response_url(
                    f"services/{workspace.id}/{workspace.bot_id}/{secrets.token_hex(12)}"
                ),
            }
        return body

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        grant = self._refresh_tokens.get(refresh_token)
        if grant is None or grant.revoked or grant.refresh_token != refresh_token:
            return {"ok": False, "error": "invalid_refresh_token"}
        record = self._issue(grant, time.time())  # replaces grant.refresh_token: the old one is used up
        self._refresh_count += 1
        workspace = grant.workspace
        body: dict[str, Any] = {
            "ok": True,
            "app_id": self.api_app_id,
            "access_token": record.token,
            "expires_in": self._expires_in(workspace),
            "refresh_token": record.refresh_token,
            "token_type": grant.kind,
            "scope": ",".join(grant.scopes),
        }
        if grant.kind == "bot":
            body["bot_user_id"] = workspace.bot_user_id
        body.update(
            team=workspace.team(),
            enterprise=workspace.enterprise(),
            is_enterprise_install=workspace.is_enterprise_install,
        )
        return body

    def _auth_test_for(self, token: str) -> dict[str, Any] | None:
        with self._oauth_lock:
            record = self._tokens.get(token)
            if record is None:
                return None
            grant = record.grant
        workspace = grant.workspace
        body: dict[str, Any] = {
            "ok": True,
            "url": workspace.url,
            "team": workspace.team_name or workspace.enterprise_name or workspace.id,
            "user": "fake-bot" if grant.kind == "bot" else "fake-installer",
            "team_id": workspace.id,
            "user_id": grant.user_id,
        }
        if grant.kind == "bot":
            body["bot_id"] = workspace.bot_id
        if workspace.enterprise_id is not None:
            body["enterprise_id"] = workspace.enterprise_id
        body["is_enterprise_install"] = workspace.is_enterprise_install
        return body

    def _auth_revoke(self, token: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
        if _text(params.get("test")).lower() in ("1", "true"):
            return {"ok": True, "revoked": False}
        with self._oauth_lock:
            record = self._tokens.get(token) if token else None
            if record is not None:
                self._revoke(record.grant)
        return {"ok": True, "revoked": True}

    # -- state (callers hold _oauth_lock) ----------------------------------------------------------

    def _workspace(self, workspace_id: str) -> FakeWorkspace:
        try:
            return self._workspaces[workspace_id]
        except KeyError:
            known = ", ".join(self._workspaces) or "none"
            raise KeyError(f"FakeSlack has no workspace {workspace_id!r} (workspaces: {known})") from None

    def _default_workspace(self) -> FakeWorkspace:
        if self._default_workspace_id is None:
            workspace = FakeWorkspace(
                team_id=self.team_id,
                team_name="Fake Workspace",
                team_domain=self.team_domain,
                enterprise_id=None,
                enterprise_name=None,
                is_enterprise_install=False,
                bot_user_id=self.bot_user_id,
                bot_id=self.bot_id,
                installer_user_id=DEFAULT_USER_ID,
            )
            self._workspaces.setdefault(workspace.id, workspace)
            self._default_workspace_id = workspace.id
        return self._workspaces[self._default_workspace_id]

    def _resolve(self, workspace: FakeWorkspace | str | None) -> FakeWorkspace:
        if workspace is None:
            return self._default_workspace()
        return self._workspace(workspace.id if isinstance(workspace, FakeWorkspace) else workspace)

    def _issued(self, token: str) -> _Token:
        record = self._tokens.get(token)
        if record is None:
            raise ValueError("FakeSlack did not issue this token")
        return record

    def _current(self, workspace: FakeWorkspace, kind: TokenKind, user_id: str) -> str:
        grant = self._grants.get((workspace.id, kind, user_id))
        now = time.time()
        for record in reversed(grant.tokens if grant is not None else []):
            if record.status(now) == "active":
                return record.token
        raise AssertionError(f"The app has no active {kind} token for {user_id} in workspace {workspace.id}")

    def _rotation(self, workspace: FakeWorkspace) -> bool:
        if workspace.token_rotation is not None:
            return workspace.token_rotation
        return self._oauth_config.token_rotation

    def _expires_in(self, workspace: FakeWorkspace) -> int:
        return workspace.token_expires_in or self._oauth_config.token_expires_in

    def _install(
        self,
        workspace: FakeWorkspace,
        kind: TokenKind,
        user_id: str,
        scopes: list[str],
        now: float,
        *,
        rotation: bool | None = None,
    ) -> _Token:
        rotating = self._rotation(workspace) if rotation is None else rotation
        key = (workspace.id, kind, user_id)
        grant = self._grants.get(key)
        if grant is None or grant.revoked or grant.rotation != rotating:
            grant = self._grants[key] = _Grant(workspace, kind, user_id, [], rotating)
        grant.scopes.extend(scope for scope in scopes if scope not in grant.scopes)
        if not rotating:
            # Slack keeps a workspace's token across reinstalls unless the app uses token rotation.
            for record in reversed(grant.tokens):
                if record.status(now) == "active":
                    return record
        return self._issue(grant, now)

    def _issue(self, grant: _Grant, now: float) -> _Token:
        n = next(self._oauth_serial)
        prefix = "xoxb" if grant.kind == "bot" else "xoxp"
        owner = grant.workspace.id if grant.kind == "bot" else f"{grant.workspace.id}-{grant.user_id}"
        body = f"{owner}-{n}-{secrets.token_hex(12)}"
        refresh_token: str | None = None
        expires_at: float | None = None
        if grant.rotation:
            token = f"xoxe.{prefix}-1-{body}"
            refresh_token = f"xoxe-1-{owner}-{n}-{secrets.token_hex(16)}"
            grant.refresh_token = refresh_token
            self._refresh_tokens[refresh_token] = grant
            expires_at = now + self._expires_in(grant.workspace)
        else:
            token = f"{prefix}-{body}"
        record = _Token(token, grant, now, expires_at, refresh_token)
        grant.tokens.append(record)
        self._tokens[token] = record
        return record

    def _revoke(self, grant: _Grant) -> None:
        grant.revoked = True
        grant.refresh_token = None
        for record in grant.tokens:
            record.revoked = True


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _scopes(value: Any) -> list[str]:
    """``"commands,chat:write"`` (Bolt) or space-separated (also accepted by Slack), in order, once each."""
    return list(dict.fromkeys(scope for scope in _SCOPE_SEPARATORS.split(_text(value)) if scope))


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    split = urlsplit(url)
    query = urlencode([*parse_qsl(split.query, keep_blank_values=True), *extra.items()])
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


def _client_credentials(params: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
    """``client_id`` and ``client_secret`` from HTTP basic auth (slack_sdk) or the form."""
    authorization = next((value for name, value in headers.items() if name.lower() == "authorization"), "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, separator, client_secret = decoded.partition(":")
        if separator:
            return client_id, client_secret
    return _text(params.get("client_id")), _text(params.get("client_secret"))
