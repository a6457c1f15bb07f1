"""``DjangoInstallationStore``: slack_sdk's installation store on the Django ORM, sync and async.

Semantics are those of slack_sdk's SQLAlchemy store, case for case: every installation is a row
(re-saving one with the same ``installed_at`` updates it), the latest row wins, a user-level
lookup takes the workspace's latest bot token, and bots are kept in their own table for
``find_bot``. On top of it:

* saves and deletes are atomic (an installation and its bot are written together or not at all);
* tokens are encrypted at rest (:mod:`django_slack_bolt.oauth.encryption`);
* changes send Django signals (:mod:`django_slack_bolt.signals`) and invalidate cached
  authorizations (:mod:`django_slack_bolt.oauth.authorization_cache`) once the transaction commits.

The async methods read through Django's async ORM; writes run the sync method through
``sync_to_async`` because Django's transactions and ``on_commit`` hooks are sync-only. The queries
are built once, by the sync side; an async method repeats only slack_sdk's signature and the await.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from logging import Logger
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import router, transaction
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone as django_timezone
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.installation_store import InstallationStore

from .. import conf, signals
from . import authorization_cache
from .encryption import EncryptedTokenField
from .models import SlackBot, SlackInstallation
from .prepared import PreparedQuery

__all__ = ["DjangoInstallationStore"]

# The bot columns a user-level lookup takes from the workspace's latest bot (slack_sdk's rule).
LATEST_BOT_FIELDS = (
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "bot_refresh_token",
    "bot_token_expires_at",
)
_LATEST_BOT_PREFIX = "latest_bot_"
# The annotation holding the workspace's latest live bot token (None: no bot row with a token).
LATEST_BOT_TOKEN = _LATEST_BOT_PREFIX + "bot_token"


def lookup_team_id(team_id: str | None, is_enterprise_install: bool | None) -> str | None:
    """The ``team_id`` rows are stored under: None for an org-wide install, whatever the event's team."""
    return None if is_enterprise_install else team_id


def to_db_datetime(value: float | int | None) -> datetime | None:
    """An epoch timestamp as the datetime the database stores (aware UTC, naive UTC without USE_TZ)."""
    if value is None:
        return None
    moment = datetime.fromtimestamp(value, tz=timezone.utc)
    return moment if settings.USE_TZ else django_timezone.make_naive(moment, timezone.utc)


def from_db_datetime(value: datetime | None) -> float | None:
    if value is None:
        return None
    if django_timezone.is_naive(value):
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _epoch_seconds(value: datetime | None) -> int | None:
    timestamp = from_db_datetime(value)
    return None if timestamp is None else int(timestamp)


def _scopes(scopes: Iterable[str] | str | None) -> str:
    if not scopes:
        return ""
    return scopes if isinstance(scopes, str) else ",".join(scopes)


def installation_fields(installation: Installation, client_id: str) -> dict[str, Any]:
    """The :class:`SlackInstallation` column values of ``installation``."""
    return {
        "client_id": client_id,
        "app_id": installation.app_id,
        "enterprise_id": installation.enterprise_id,
        "enterprise_name": installation.enterprise_name,
        "enterprise_url": installation.enterprise_url,
        "team_id": installation.team_id,
        "team_name": installation.team_name,
        "bot_token": installation.bot_token,
        "bot_id": installation.bot_id,
        "bot_user_id": installation.bot_user_id,
        "bot_scopes": _scopes(installation.bot_scopes),
        "bot_refresh_token": installation.bot_refresh_token,
        "bot_token_expires_at": to_db_datetime(installation.bot_token_expires_at),
        "user_id": installation.user_id,
        "user_token": installation.user_token,
        "user_scopes": _scopes(installation.user_scopes),
        "user_refresh_token": installation.user_refresh_token,
        "user_token_expires_at": to_db_datetime(installation.user_token_expires_at),
        "incoming_webhook_url": installation.incoming_webhook_url,
        "incoming_webhook_channel": installation.incoming_webhook_channel,
        "incoming_webhook_channel_id": installation.incoming_webhook_channel_id,
        "incoming_webhook_configuration_url": installation.incoming_webhook_configuration_url,
        "is_enterprise_install": bool(installation.is_enterprise_install),
        "token_type": installation.token_type,
        "custom_values": dict(installation.custom_values or {}),
        "installed_at": to_db_datetime(installation.installed_at),
    }


def bot_fields(bot: Bot, client_id: str) -> dict[str, Any]:
    """The :class:`SlackBot` column values of ``bot``."""
    return {
        "client_id": client_id,
        "app_id": bot.app_id,
        "enterprise_id": bot.enterprise_id,
        "enterprise_name": bot.enterprise_name,
        "team_id": bot.team_id,
        "team_name": bot.team_name,
        "bot_token": bot.bot_token,
        "bot_id": bot.bot_id,
        "bot_user_id": bot.bot_user_id,
        "bot_scopes": _scopes(bot.bot_scopes),
        "bot_refresh_token": bot.bot_refresh_token,
        "bot_token_expires_at": to_db_datetime(bot.bot_token_expires_at),
        "is_enterprise_install": bool(bot.is_enterprise_install),
        "custom_values": dict(bot.custom_values or {}),
        "installed_at": to_db_datetime(bot.installed_at),
    }


def installation_from_row(row: Any) -> Installation:
    """The :class:`Installation` of a row, with the workspace's latest bot when the row was annotated."""
    return Installation(
        app_id=row.app_id,
        enterprise_id=row.enterprise_id,
        enterprise_name=row.enterprise_name,
        enterprise_url=row.enterprise_url,
        team_id=row.team_id,
        team_name=row.team_name,
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        bot_refresh_token=row.bot_refresh_token,
        bot_token_expires_at=_epoch_seconds(row.bot_token_expires_at),
        user_id=row.user_id,
        user_token=row.user_token,
        user_scopes=row.user_scopes,
        user_refresh_token=row.user_refresh_token,
        user_token_expires_at=_epoch_seconds(row.user_token_expires_at),
        incoming_webhook_url=row.incoming_webhook_url,
        incoming_webhook_channel=row.incoming_webhook_channel,
        incoming_webhook_channel_id=row.incoming_webhook_channel_id,
        incoming_webhook_configuration_url=row.incoming_webhook_configuration_url,
        is_enterprise_install=row.is_enterprise_install,
        token_type=row.token_type,
        installed_at=from_db_datetime(row.installed_at),
        custom_values=dict(row.custom_values or {}),
    )


def bot_from_row(row: Any) -> Bot:
    return Bot(
        app_id=row.app_id,
        enterprise_id=row.enterprise_id,
        enterprise_name=row.enterprise_name,
        team_id=row.team_id,
        team_name=row.team_name,
        bot_token=row.bot_token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        bot_refresh_token=row.bot_refresh_token,
        bot_token_expires_at=_epoch_seconds(row.bot_token_expires_at),
        is_enterprise_install=row.is_enterprise_install,
        installed_at=from_db_datetime(row.installed_at),  # type: ignore[arg-type]
        custom_values=dict(row.custom_values or {}),
    )


def apply_latest_bot(installation: Installation, row: Any, *, user_lookup: bool) -> Installation:
    """slack_sdk's rule: a user-level row, or a row without a bot token, takes the latest bot's fields."""
    latest_token = getattr(row, _LATEST_BOT_PREFIX + "bot_token", None)
    should_take = user_lookup or installation.bot_token is None
    if should_take and latest_token is not None and installation.bot_token != latest_token:
        installation.bot_token = latest_token
        installation.bot_id = getattr(row, _LATEST_BOT_PREFIX + "bot_id")
        installation.bot_user_id = getattr(row, _LATEST_BOT_PREFIX + "bot_user_id")
        scopes = getattr(row, _LATEST_BOT_PREFIX + "bot_scopes")
        installation.bot_scopes = scopes.split(",") if scopes else []
        installation.bot_refresh_token = getattr(row, _LATEST_BOT_PREFIX + "bot_refresh_token")
        installation.bot_token_expires_at = _epoch_seconds(
            getattr(row, _LATEST_BOT_PREFIX + "bot_token_expires_at")
        )
    return installation


class DjangoInstallationStore(InstallationStore, AsyncInstallationStore):
    """slack_sdk's ``InstallationStore`` and ``AsyncInstallationStore`` on the Django ORM.

    ``client_id`` scopes the rows to one Slack app (default: ``SLACK_BOLT["CLIENT_ID"]``, then the
    ``SLACK_CLIENT_ID`` environment variable). ``database`` is a database alias; None lets Django's
    database routers choose.
    """

    def __init__(
        self,
        client_id: str | None = None,
        *,
        database: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        if client_id is None:
            client_id = conf.get_setting("CLIENT_ID") or os.environ.get("SLACK_CLIENT_ID") or ""
        self.client_id: str = client_id
        self.database = database
        self._logger = logger or logging.getLogger("django_slack_bolt.installation_store")

    def __repr__(self) -> str:
        return f"<DjangoInstallationStore client_id={self.client_id!r} database={self.database!r}>"

    @property
    def logger(self) -> Logger:
        return self._logger

    # -- querysets ----------------------------------------------------------------------------

    def write_alias(self) -> str:
        return self.database or router.db_for_write(SlackInstallation)

    def read_alias(self) -> str:
        return self.database or router.db_for_read(SlackInstallation)

    def installations(self) -> QuerySet[SlackInstallation]:
        rows: QuerySet[SlackInstallation] = SlackInstallation.objects.using(self.database)
        return cast("QuerySet[SlackInstallation]", rows.filter(client_id=self.client_id))

    def bots(self) -> QuerySet[SlackBot]:
        rows: QuerySet[SlackBot] = SlackBot.objects.using(self.database)
        return cast("QuerySet[SlackBot]", rows.filter(client_id=self.client_id))

    def workspace_installations(
        self, enterprise_id: str | None, team_id: str | None
    ) -> QuerySet[SlackInstallation]:
        return cast(
            "QuerySet[SlackInstallation]",
            self.installations().filter(enterprise_id=enterprise_id, team_id=team_id),
        )

    def latest_bots(self, enterprise_id: str | None, team_id: str | None) -> QuerySet[SlackBot]:
        """The workspace's bots that have a token, newest first (the first is the one in use)."""
        bots = self.bots().filter(enterprise_id=enterprise_id, team_id=team_id, bot_token__isnull=False)
        return cast("QuerySet[SlackBot]", bots.order_by("-installed_at", "-pk"))

    def with_latest_bot(
        self, queryset: QuerySet[SlackInstallation], enterprise_id: str | None, team_id: str | None
    ) -> QuerySet[SlackInstallation]:
        """``queryset`` annotated with the workspace's latest bot, so one query reads both."""
        latest = self.latest_bots(enterprise_id, team_id)[:1]
        annotations: dict[str, Any] = {}
        for name in LATEST_BOT_FIELDS:
            field = SlackBot._meta.get_field(name)
            output = EncryptedTokenField() if isinstance(field, EncryptedTokenField) else field.clone()  # type: ignore[union-attr]
            annotations[_LATEST_BOT_PREFIX + name] = Subquery(latest.values(name), output_field=output)
        return cast("QuerySet[SlackInstallation]", queryset.annotate(**annotations))

    # -- InstallationStore ------------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        """Save an installation and its bot in one transaction (same ``installed_at``: update)."""
        alias = self.write_alias()
        with transaction.atomic(using=alias):
            self._upsert(SlackInstallation, installation_fields(installation, self.client_id), alias)
            # Like slack_sdk's stores, the bot row is written even without a bot token (a user-only
            # install); find_bot skips rows without one.
            self._upsert(SlackBot, bot_fields(installation.to_bot(), self.client_id), alias)
            self._on_commit(installation.enterprise_id, installation.team_id, alias)
            transaction.on_commit(
                lambda: signals.send(
                    signals.installation_saved, sender=type(self), installation=installation, store=self
                ),
                using=alias,
            )

    def save_bot(self, bot: Bot) -> None:
        alias = self.write_alias()
        with transaction.atomic(using=alias):
            self._upsert(SlackBot, bot_fields(bot, self.client_id), alias)
            self._on_commit(bot.enterprise_id, bot.team_id, alias)
            transaction.on_commit(
                lambda: signals.send(signals.bot_saved, sender=type(self), bot=bot, store=self),
                using=alias,
            )

    @staticmethod
    def _upsert(model: type[SlackInstallation | SlackBot], fields: dict[str, Any], alias: str) -> None:
        same = model._default_manager.using(alias).filter(
            client_id=fields["client_id"],
            enterprise_id=fields["enterprise_id"],
            team_id=fields["team_id"],
            installed_at=fields["installed_at"],
        )
        pk = same.order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            model._default_manager.using(alias).create(**fields)
        else:
            model._default_manager.using(alias).filter(pk=pk).update(**fields)

    def _on_commit(self, enterprise_id: str | None, team_id: str | None, alias: str) -> None:
        # Refused (rolled back) when the authorization cache cannot be kept in step: a save or a
        # delete that went through while the cache kept serving the old rows would be worse.
        authorization_cache.invalidate_on_commit(
            self.client_id, enterprise_id, team_id, using=alias, refuse_on_error=True
        )

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        rows = _LATEST_BOT.rows(
            self.read_alias(),
            client_id=self.client_id,
            enterprise_id=enterprise_id,
            team_id=lookup_team_id(team_id, is_enterprise_install),
        )
        return bot_from_row(rows[0]) if rows else None

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        rows = _LATEST_INSTALLATION.rows(
            self.read_alias(),
            client_id=self.client_id,
            enterprise_id=enterprise_id,
            team_id=lookup_team_id(team_id, is_enterprise_install),
            user_id=user_id,
        )
        return self._found(rows[0] if rows else None, user_id)

    @staticmethod
    def _found(row: Any, user_id: str | None) -> Installation | None:
        if row is None:
            return None
        return apply_latest_bot(installation_from_row(row), row, user_lookup=user_id is not None)

    def _installation_query(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> QuerySet[SlackInstallation]:
        rows = self.workspace_installations(enterprise_id, team_id)
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        return self.with_latest_bot(rows.order_by("-installed_at", "-pk"), enterprise_id, team_id)

    def find_authorization_rows(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> tuple[Any, Any]:
        """The workspace's latest row and ``user_id``'s latest row, with the latest bot, in one query.

        What :class:`~django_slack_bolt.oauth.authorize.DjangoAuthorize` reads: the same rows as
        ``find_installation`` without and with ``user_id``, for one database round trip.
        """
        rows = _AUTHORIZATION_ROWS.rows(
            self.read_alias(),
            client_id=self.client_id,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )
        if not rows:
            return None, None
        latest = rows[0]
        if user_id is None:
            return latest, None
        user_rows = [row for row in rows if row.user_id == user_id]
        return latest, (user_rows[0] if user_rows else None)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        alias = self.write_alias()
        with transaction.atomic(using=alias):
            self._delete_bots(enterprise_id, team_id, alias)
            self._deleted(enterprise_id, team_id, None, alias, installations=False, bots=True)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        alias = self.write_alias()
        with transaction.atomic(using=alias):
            self._delete_installations(enterprise_id, team_id, user_id, alias)
            self._deleted(enterprise_id, team_id, user_id, alias, installations=True, bots=False)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Every bot and installation row of the workspace, in one transaction (``app_uninstalled``).

        One ``installation_deleted`` signal (``installations=True``, ``bots=True``), not one per table.
        """
        alias = self.write_alias()
        with transaction.atomic(using=alias):
            self._delete_bots(enterprise_id, team_id, alias)
            self._delete_installations(enterprise_id, team_id, None, alias)
            self._deleted(enterprise_id, team_id, None, alias, installations=True, bots=True)

    def _delete_bots(self, enterprise_id: str | None, team_id: str | None, alias: str) -> None:
        self.bots().using(alias).filter(enterprise_id=enterprise_id, team_id=team_id).delete()

    def _delete_installations(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None, alias: str
    ) -> None:
        rows = self.installations().using(alias).filter(enterprise_id=enterprise_id, team_id=team_id)
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        rows.delete()

    def _deleted(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        alias: str,
        *,
        installations: bool,
        bots: bool,
    ) -> None:
        self._on_commit(enterprise_id, team_id, alias)
        transaction.on_commit(
            lambda: signals.send(
                signals.installation_deleted,
                sender=type(self),
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                installations=installations,
                bots=bots,
                store=self,
            ),
            using=alias,
        )

    # -- AsyncInstallationStore ---------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        await sync_to_async(self.save)(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await sync_to_async(self.save_bot)(bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await sync_to_async(self.find_bot)(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await sync_to_async(self.find_installation)(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await sync_to_async(self.delete_bot)(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await sync_to_async(self.delete_installation)(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await sync_to_async(self.delete_all)(enterprise_id=enterprise_id, team_id=team_id)


# --- the reads, compiled once (see prepared.py): what every cold authorization runs ------------------

_INSTALLATION_COLUMNS = tuple(field.attname for field in SlackInstallation._meta.concrete_fields)
_BOT_COLUMNS = tuple(field.attname for field in SlackBot._meta.concrete_fields)
_LATEST_BOT_COLUMNS = tuple(_LATEST_BOT_PREFIX + name for name in LATEST_BOT_FIELDS)


def _latest_installation(
    client_id: str, enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> QuerySet[Any]:
    store = DjangoInstallationStore(client_id)
    rows = store._installation_query(enterprise_id, team_id, user_id)
    latest: QuerySet[Any] = rows.values(*_INSTALLATION_COLUMNS, *_LATEST_BOT_COLUMNS)[:1]
    return latest


def _latest_bot(client_id: str, enterprise_id: str | None, team_id: str | None) -> QuerySet[Any]:
    latest: QuerySet[Any] = (
        DjangoInstallationStore(client_id).latest_bots(enterprise_id, team_id).values(*_BOT_COLUMNS)[:1]
    )
    return latest


def _authorization_rows(
    client_id: str, enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> QuerySet[Any]:
    store = DjangoInstallationStore(client_id)
    workspace = store.workspace_installations(enterprise_id, team_id).order_by("-installed_at", "-pk")
    wanted = Q(pk=Subquery(workspace.values("pk")[:1]))
    if user_id is not None:
        wanted |= Q(pk=Subquery(workspace.filter(user_id=user_id).values("pk")[:1]))
    rows = store.with_latest_bot(SlackInstallation.objects.filter(wanted), enterprise_id, team_id)
    found: QuerySet[Any] = rows.order_by("-installed_at", "-pk").values(
        *_INSTALLATION_COLUMNS, *_LATEST_BOT_COLUMNS
    )
    return found


_LATEST_INSTALLATION = PreparedQuery(_latest_installation)
_LATEST_BOT = PreparedQuery(_latest_bot)
_AUTHORIZATION_ROWS = PreparedQuery(_authorization_rows)
