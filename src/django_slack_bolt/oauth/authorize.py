"""Authorization from the stored installation: no ``auth.test`` call, one query cold, none warm.

Bolt's default ``InstallationStoreAuthorize`` finds the installation, then calls ``auth.test`` on
every request to learn the bot's ids (its cache is off by default and cannot be switched on from
``App(...)``). Everything ``auth.test`` would say is in the installation already, so
:class:`DjangoAuthorize` builds the :class:`~slack_bolt.authorization.AuthorizeResult` from it:

* cold: one query (the workspace's latest installation, the user's, and the latest bot together);
* warm: zero queries, one cache round trip (:mod:`django_slack_bolt.oauth.authorization_cache`), invalidated
  when the workspace's installation is saved, deleted or its tokens rotated;
* token rotation under a row lock: a worker that finds a token about to expire locks the
  workspace's rows (``SELECT ... FOR UPDATE``; on SQLite the database write lock), re-reads them, and
  refreshes only if no other worker did so first. N workers make one ``oauth.v2.access`` call.

Which tokens are chosen (latest bot, the request user's own user token, ``user_token_resolution``,
``bot_only``) follows Bolt's ``InstallationStoreAuthorize`` line by line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from logging import Logger
from typing import Any

from django.db import connections, transaction
from django.db.models import F
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.context import BoltContext
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.token_rotation import TokenRotator

from .. import cache_steps, conf, signals
from . import authorization_cache
from .installation_store import (
    LATEST_BOT_TOKEN,
    DjangoInstallationStore,
    apply_latest_bot,
    installation_from_row,
    lookup_team_id,
    to_db_datetime,
)

__all__ = ["DjangoAuthorize"]

_CONFIG_ERROR = (
    "Token rotation needs the app's client id and secret: set SLACK_BOLT['CLIENT_ID'] and "
    "SLACK_BOLT['CLIENT_SECRET'] (or pass client_id/client_secret to DjangoAuthorize)."
)


class _Resolution:
    """The tokens chosen for a request, with the installations they came from."""

    def __init__(self) -> None:
        self.bot_token: str | None = None
        self.user_token: str | None = None
        self.bot_scopes: Sequence[str] | None = None
        self.user_scopes: Sequence[str] | None = None
        self.bot_source: Installation | Bot | None = None
        self.user_source: Installation | None = None
        self.workspace: Installation | Bot | None = None


def _live_bot_only(installation: Installation, row: Any) -> Installation:
    """``installation`` without its bot token when the workspace has no bot row left.

    ``tokens_revoked`` for the bot deletes the bot rows (``delete_bot``) but leaves the installation
    rows' copy of the token. Bolt's authorize would find it dead through ``auth.test``; with no
    ``auth.test`` to ask, the bot rows are the record of which bot token is still live.
    """
    if getattr(row, LATEST_BOT_TOKEN, None) is None:
        installation.bot_token = installation.bot_refresh_token = None
        installation.bot_token_expires_at = None
        installation.bot_id = installation.bot_user_id = None
        installation.bot_scopes = []
    return installation


class DjangoAuthorize(Authorize):
    """Bolt ``authorize`` for :class:`~django_slack_bolt.oauth.installation_store.DjangoInstallationStore`.

    Pass it to ``App(authorize=...)`` together with ``oauth_settings`` (Bolt accepts an ``Authorize``
    instance alongside an OAuth flow); :func:`django_slack_bolt.oauth.app_factory.build_app` does.
    ``cache_enabled=False`` reads the database on every request.
    """

    def __init__(
        self,
        *,
        installation_store: DjangoInstallationStore | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_rotation_expiration_minutes: int | None = None,
        bot_only: bool = False,
        user_token_resolution: str = "authed_user",
        cache_enabled: bool = True,
        logger: Logger | None = None,
    ) -> None:
        self.installation_store = installation_store or DjangoInstallationStore(client_id)
        self.client_id = client_id if client_id is not None else (self.installation_store.client_id or None)
        self.client_secret = client_secret if client_secret is not None else conf.get_setting("CLIENT_SECRET")
        self.token_rotation_expiration_minutes = token_rotation_expiration_minutes or int(
            conf.get_setting("TOKEN_ROTATION_EXPIRATION_MINUTES")
        )
        self.bot_only = bot_only
        self.user_token_resolution = user_token_resolution
        self.cache_enabled = cache_enabled
        self.logger = logger or logging.getLogger("django_slack_bolt.authorize")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} store={self.installation_store!r} cache_enabled={self.cache_enabled}>"

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        key = self.cache_key(context, enterprise_id, team_id, user_id)
        cache_lookup = (
            cache_steps.run_or(authorization_cache.lookup_steps(key), authorization_cache.cache_alias(), None)
            if key is not None
            else None
        )
        if cache_lookup is not None and cache_lookup.result is not None:
            return cache_lookup.result
        return self.authorize_from_database(
            context=context,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            actor=(actor_enterprise_id, actor_team_id, actor_user_id),
            cache_lookup=cache_lookup,
            client=context.client,
        )

    # -- cache -----------------------------------------------------------------------------------

    def cache_key(
        self, context: Any, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> authorization_cache.Key | None:
        """What the request's authorization is cached under; ``None`` when it is not cached.

        With "actor" resolution the user's token may come from another workspace, whose changes would
        not invalidate this one's entries: those requests always read the database.
        """
        if not self.cache_enabled or self.user_token_resolution == "actor":
            return None
        lookup_team = lookup_team_id(team_id, context.is_enterprise_install)
        return authorization_cache.Key(
            self.installation_store.client_id, enterprise_id, lookup_team, user_id, self.bot_only
        )

    # -- database --------------------------------------------------------------------------------

    def authorize_from_database(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor: tuple[str | None, str | None, str | None],
        cache_lookup: authorization_cache.Lookup | None,
        client: Any,
    ) -> AuthorizeResult | None:
        """The uncached path: read the installation, rotate tokens if due, cache the result."""
        try:
            resolution = self._resolve(
                is_enterprise_install=bool(context.is_enterprise_install),
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                actor=actor,
                client=client,
            )
        except SlackTokenRotationError as rotation_error:
            # Unrecoverable for this request, as in Bolt: the middleware answers "authorization failed".
            self.logger.error(f"Failed to rotate tokens due to {rotation_error}")
            return None
        token = resolution.bot_token or resolution.user_token
        if token is None:
            self.logger.debug(
                f"No installation data found for enterprise_id: {enterprise_id} team_id: {team_id}"
            )
            return None
        result = self._result(resolution)
        if cache_lookup is not None:
            authorization_cache.store(cache_lookup, result, refresh_after=self._refresh_after(resolution))
        return result

    def _resolve(
        self,
        *,
        is_enterprise_install: bool,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor: tuple[str | None, str | None, str | None],
        client: Any,
    ) -> _Resolution:
        store = self.installation_store
        chosen = _Resolution()
        if not self.bot_only:
            lookup_team = lookup_team_id(team_id, is_enterprise_install)
            actor_mode = self.user_token_resolution == "actor"
            latest_row, user_row = store.find_authorization_rows(
                enterprise_id=enterprise_id,
                team_id=lookup_team,
                user_id=None if actor_mode else user_id,
            )
            latest = (
                None
                if latest_row is None
                else _live_bot_only(
                    apply_latest_bot(installation_from_row(latest_row), latest_row, user_lookup=False),
                    latest_row,
                )
            )
            this_user: Installation | None = None
            if latest is not None and latest_row is not None:
                chosen.workspace = latest
                chosen.bot_token, chosen.user_token = latest.bot_token, latest.user_token
                chosen.bot_scopes, chosen.user_scopes = latest.bot_scopes, latest.user_scopes
                chosen.bot_source = latest
                chosen.user_source = latest
                if latest.user_id != user_id:
                    chosen.user_token = chosen.user_scopes = None
                    chosen.user_source = None
                    latest.user_token = latest.user_refresh_token = None
                    latest.user_token_expires_at = None
                    latest.user_scopes = None
                    this_user = self._this_user_installation(
                        latest_row, user_row, user_id, actor, actor_mode, is_enterprise_install
                    )
                    if this_user is not None:
                        this_user = self._rotate_if_due(this_user, client) or this_user
                        chosen.user_token, chosen.user_scopes = this_user.user_token, this_user.user_scopes
                        chosen.user_source = this_user
                        if (
                            latest.bot_token is None
                            and latest.enterprise_id == this_user.enterprise_id
                            and latest.team_id == this_user.team_id
                        ):
                            chosen.bot_token, chosen.bot_scopes = this_user.bot_token, this_user.bot_scopes
                            chosen.bot_source = this_user
                refreshed = self._rotate_if_due(latest, client)
                if refreshed is not None:
                    if chosen.bot_source is latest:
                        chosen.bot_source = refreshed
                    chosen.bot_token, chosen.bot_scopes = refreshed.bot_token, refreshed.bot_scopes
                    if this_user is None:
                        chosen.user_token, chosen.user_scopes = refreshed.user_token, refreshed.user_scopes
                        chosen.user_source = refreshed if chosen.user_token is not None else None
                    if chosen.workspace is latest:
                        chosen.workspace = refreshed
        if self.bot_only or (chosen.bot_token is None and chosen.user_token is None):
            bot = store.find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
            if bot is not None:
                if bot.bot_refresh_token is not None:
                    bot = self._rotate_bot_if_due(bot, client) or bot
                chosen.bot_token, chosen.bot_scopes = bot.bot_token, bot.bot_scopes
                chosen.bot_source = chosen.workspace = bot
        return chosen

    def _this_user_installation(
        self,
        latest_row: Any,
        user_row: Any,
        user_id: str | None,
        actor: tuple[str | None, str | None, str | None],
        actor_mode: bool,
        is_enterprise_install: bool,
    ) -> Installation | None:
        if actor_mode:
            actor_enterprise_id, actor_team_id, actor_user_id = actor
            if actor_enterprise_id is None and actor_team_id is None:
                return None
            return self.installation_store.find_installation(
                enterprise_id=actor_enterprise_id,
                team_id=actor_team_id,
                user_id=actor_user_id,
                is_enterprise_install=None,
            )
        if user_id is None:
            # find_installation(user_id=None) is the workspace's latest installation again.
            row, user_lookup = latest_row, False
        elif user_row is None:
            return None
        else:
            row, user_lookup = user_row, True
        return _live_bot_only(apply_latest_bot(installation_from_row(row), row, user_lookup=user_lookup), row)

    # -- results ---------------------------------------------------------------------------------

    @staticmethod
    def _result(chosen: _Resolution) -> AuthorizeResult:
        workspace = chosen.workspace
        bot = chosen.bot_source if chosen.bot_token is not None else None
        return AuthorizeResult(
            enterprise_id=workspace.enterprise_id if workspace else None,
            team_id=workspace.team_id if workspace else None,
            team=workspace.team_name if workspace else None,
            bot_id=bot.bot_id if bot is not None else None,
            bot_user_id=bot.bot_user_id if bot is not None else None,
            bot_token=chosen.bot_token,
            bot_scopes=chosen.bot_scopes,
            # auth.test names the owner of the user token (None without one).
            user_id=chosen.user_source.user_id if chosen.user_token and chosen.user_source else None,
            user_token=chosen.user_token,
            user_scopes=chosen.user_scopes,
        )

    def _refresh_after(self, chosen: _Resolution) -> float | None:
        """When the cached entry must stop being served: the first token's refresh time."""
        margin = self.token_rotation_expiration_minutes * 60
        expiries = []
        bot, user = chosen.bot_source, chosen.user_source
        if chosen.bot_token and bot is not None and bot.bot_refresh_token and bot.bot_token_expires_at:
            expiries.append(bot.bot_token_expires_at)
        if chosen.user_token and user is not None and user.user_refresh_token and user.user_token_expires_at:
            expiries.append(user.user_token_expires_at)
        return min(expiries) - margin if expiries else None

    # -- token rotation --------------------------------------------------------------------------

    def _due(self, expires_at: int | None, refresh_token: str | None) -> bool:
        if refresh_token is None:
            return False
        horizon = time.time() + self.token_rotation_expiration_minutes * 60
        return expires_at is None or expires_at <= horizon

    def _rotator(self, client: Any) -> TokenRotator:
        if not self.client_id or not self.client_secret:
            raise BoltError(_CONFIG_ERROR)
        if not isinstance(client, WebClient):
            # An AsyncApp's client: the same endpoint, called synchronously under the lock.
            client = WebClient(
                base_url=client.base_url,
                timeout=client.timeout,
                ssl=client.ssl,
                proxy=client.proxy,
                headers=dict(client.headers),
            )
        return TokenRotator(client_id=self.client_id, client_secret=self.client_secret, client=client)

    def _rotate_if_due(self, installation: Installation, client: Any) -> Installation | None:
        """The installation with fresh tokens, refreshed under the workspace lock; None if none is due."""
        if installation.bot_refresh_token is None and installation.user_refresh_token is None:
            return None
        bot_due = self._due(installation.bot_token_expires_at, installation.bot_refresh_token)
        user_due = self._due(installation.user_token_expires_at, installation.user_refresh_token)
        if not (bot_due or user_due):
            return None
        rotator = self._rotator(client)
        team_id = lookup_team_id(installation.team_id, installation.is_enterprise_install)
        with self._workspace_locked(installation.enterprise_id, team_id) as (locked, alias):
            # Re-read under the lock: a worker that waited finds the tokens another one refreshed.
            current = locked.find_installation(
                enterprise_id=installation.enterprise_id,
                team_id=team_id,
                user_id=installation.user_id,
                is_enterprise_install=installation.is_enterprise_install,
            )
            if current is None:
                return None
            refreshed = rotator.perform_token_rotation(
                installation=current, minutes_before_expiration=self.token_rotation_expiration_minutes
            )
            if refreshed is not None:
                bot_rotated = refreshed.bot_token != current.bot_token
                user_rotated = refreshed.user_token != current.user_token
                self._write_rotated(locked, refreshed, team_id, bot=bot_rotated, user=user_rotated)
                self._after_rotation(refreshed, team_id, alias, bot=bot_rotated, user=user_rotated)
                current = refreshed
        return self._with_tokens_of(installation, current)

    @staticmethod
    def _with_tokens_of(installation: Installation, current: Installation) -> Installation:
        """``installation`` with the current tokens of the parts it carries (never another user's)."""
        updated = Installation(**installation.to_dict_for_copying())
        if installation.bot_token is not None:
            updated.bot_token = current.bot_token
            updated.bot_refresh_token = current.bot_refresh_token
            updated.bot_token_expires_at = current.bot_token_expires_at
        if installation.user_token is not None:
            updated.user_token = current.user_token
            updated.user_refresh_token = current.user_refresh_token
            updated.user_token_expires_at = current.user_token_expires_at
        return updated

    def _rotate_bot_if_due(self, bot: Bot, client: Any) -> Bot | None:
        if not self._due(bot.bot_token_expires_at, bot.bot_refresh_token):
            return None
        rotator = self._rotator(client)
        team_id = lookup_team_id(bot.team_id, bot.is_enterprise_install)
        with self._workspace_locked(bot.enterprise_id, team_id) as (locked, alias):
            current = locked.find_bot(
                enterprise_id=bot.enterprise_id,
                team_id=team_id,
                is_enterprise_install=bot.is_enterprise_install,
            )
            if current is None:
                return None
            refreshed = rotator.perform_bot_token_rotation(
                bot=current, minutes_before_expiration=self.token_rotation_expiration_minutes
            )
            if refreshed is None:
                return current
            as_installation = Installation(
                enterprise_id=refreshed.enterprise_id,
                team_id=refreshed.team_id,
                user_id="",
                bot_token=refreshed.bot_token,
                bot_refresh_token=refreshed.bot_refresh_token,
                bot_token_expires_at=refreshed.bot_token_expires_at,
                is_enterprise_install=refreshed.is_enterprise_install,
            )
            self._write_rotated(locked, as_installation, team_id, bot=True, user=False)
            self._after_rotation(as_installation, team_id, alias, bot=True, user=False)
            return refreshed

    @contextmanager
    def _workspace_locked(
        self, enterprise_id: str | None, team_id: str | None
    ) -> Iterator[tuple[DjangoInstallationStore, str]]:
        """A transaction holding the workspace's rows, and a store that reads and writes in it."""
        store = self.installation_store
        alias = store.write_alias()
        locked = DjangoInstallationStore(store.client_id, database=alias, logger=store.logger)
        with transaction.atomic(using=alias):
            self._lock_workspace(locked, enterprise_id, team_id, alias)
            yield locked, alias

    @staticmethod
    def _lock_workspace(
        store: DjangoInstallationStore, enterprise_id: str | None, team_id: str | None, alias: str
    ) -> None:
        installations = store.workspace_installations(enterprise_id, team_id)
        bots = store.bots().filter(enterprise_id=enterprise_id, team_id=team_id)
        if connections[alias].features.has_select_for_update:
            # Rows in primary-key order, installations before bots: every worker locks in the same
            # order, so two never deadlock.
            list(installations.select_for_update().order_by("pk").values_list("pk", flat=True))
            list(bots.select_for_update().order_by("pk").values_list("pk", flat=True))
        else:
            # SQLite has no row locks: a write as the transaction's first statement takes the
            # database's write lock, which the other workers wait for (the connection's timeout).
            installations.update(client_id=F("client_id"))

    @staticmethod
    def _write_rotated(
        store: DjangoInstallationStore, refreshed: Installation, team_id: str | None, *, bot: bool, user: bool
    ) -> None:
        installations = store.workspace_installations(refreshed.enterprise_id, team_id)
        if bot:
            fields = {
                "bot_token": refreshed.bot_token,
                "bot_refresh_token": refreshed.bot_refresh_token,
                "bot_token_expires_at": to_db_datetime(refreshed.bot_token_expires_at),
            }
            # The spent refresh token is useless wherever it is stored: every row of the workspace
            # that holds a bot token gets the new one.
            installations.filter(bot_token__isnull=False).update(**fields)
            store.bots().filter(
                enterprise_id=refreshed.enterprise_id, team_id=team_id, bot_token__isnull=False
            ).update(**fields)
        if user:
            installations.filter(user_id=refreshed.user_id, user_token__isnull=False).update(
                user_token=refreshed.user_token,
                user_refresh_token=refreshed.user_refresh_token,
                user_token_expires_at=to_db_datetime(refreshed.user_token_expires_at),
            )

    def _after_rotation(
        self, refreshed: Installation, team_id: str | None, alias: str, *, bot: bool, user: bool
    ) -> None:
        client_id = self.installation_store.client_id
        store = self.installation_store

        # Slack has spent the old refresh token: the new tokens are written whatever the cache does.
        authorization_cache.invalidate_on_commit(
            client_id, refreshed.enterprise_id, team_id, using=alias, refuse_on_error=False
        )

        def announce() -> None:
            signals.send(
                signals.tokens_rotated,
                sender=type(store),
                installation=refreshed,
                bot_rotated=bot,
                user_rotated=user,
                store=store,
            )

        transaction.on_commit(announce, using=alias)
