"""``DjangoOAuthStateStore``: the OAuth ``state`` parameter on the Django ORM, sync and async.

A state is issued when the install page is shown and consumed when Slack redirects back. Consuming
is one conditional ``DELETE ... WHERE state = %s AND expires_at > now``: of two callbacks racing
with the same state exactly one deletes the row, so a state is usable once. Expired states are
rejected, deleted by ``manage.py slack_bolt_purge_states``, and purged opportunistically: one
issue in ``PURGE_EVERY`` also deletes the expired rows.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from logging import Logger
from typing import Any, Final

from django.db import router
from django.db.models import QuerySet
from django.utils import timezone
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from .. import conf
from .models import SlackOAuthState

__all__ = ["DjangoOAuthStateStore"]

# Purge expired states on one issue() in this many (picked at random, so no shared counter).
PURGE_EVERY: Final = 100
# What issue() hands out (token_urlsafe) fits this; anything else from the callback's query string is
# not a state of ours, and is refused before it reaches the database (PostgreSQL rejects NUL bytes).
_WELL_FORMED: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")


class DjangoOAuthStateStore(OAuthStateStore, AsyncOAuthStateStore):
    """slack_sdk's ``OAuthStateStore`` and ``AsyncOAuthStateStore`` on the Django ORM.

    ``expiration_seconds`` defaults to ``SLACK_BOLT["STATE_EXPIRATION_SECONDS"]``; ``database`` is a
    database alias (None: Django's routers choose).
    """

    def __init__(
        self,
        expiration_seconds: int | None = None,
        *,
        database: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        if expiration_seconds is None:
            expiration_seconds = int(conf.get_setting("STATE_EXPIRATION_SECONDS"))
        self.expiration_seconds = expiration_seconds
        self.database = database
        self._logger = logger or logging.getLogger("django_slack_bolt.state_store")

    def __repr__(self) -> str:
        return (
            f"<DjangoOAuthStateStore expiration_seconds={self.expiration_seconds} database={self.database!r}>"
        )

    @property
    def logger(self) -> Logger:
        return self._logger

    def states(self) -> QuerySet[SlackOAuthState]:
        states: QuerySet[SlackOAuthState] = SlackOAuthState.objects.using(
            self.database or router.db_for_write(SlackOAuthState)
        )
        return states

    def _new_state(self) -> SlackOAuthState:
        return SlackOAuthState(
            state=secrets.token_urlsafe(32),
            expires_at=timezone.now() + timedelta(seconds=self.expiration_seconds),
        )

    @staticmethod
    def _purge_now() -> bool:
        return secrets.randbelow(PURGE_EVERY) == 0

    def issue(self, *args: Any, **kwargs: Any) -> str:
        if self._purge_now():
            self.purge_expired()
        row = self._new_state()
        self.states().bulk_create([row])
        return row.state

    @staticmethod
    def _well_formed(state: object) -> bool:
        return isinstance(state, str) and _WELL_FORMED.fullmatch(state) is not None

    def expired(self) -> QuerySet[SlackOAuthState]:
        """The states past their expiry, which no callback can consume any more."""
        expired: QuerySet[SlackOAuthState] = self.states().filter(expires_at__lte=timezone.now())
        return expired

    def consume(self, state: str) -> bool:
        if not self._well_formed(state):
            return False
        # The count is the DELETE's row count (a single statement, or one by primary key when another
        # app's delete signals make Django collect the rows first): of two callbacks racing with the
        # same state, exactly one deletes the row.
        deleted: int = self.states().filter(state=state, expires_at__gt=timezone.now()).delete()[0]
        return deleted > 0

    def purge_expired(self) -> int:
        """Delete the expired states; returns how many went."""
        deleted: int = self.expired().delete()[0]
        return deleted

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        if self._purge_now():
            await self.async_purge_expired()
        row = self._new_state()
        await self.states().abulk_create([row])
        return row.state

    async def async_consume(self, state: str) -> bool:
        if not self._well_formed(state):
            return False
        deleted: int = (await self.states().filter(state=state, expires_at__gt=timezone.now()).adelete())[0]
        return deleted > 0

    async def async_purge_expired(self) -> int:
        deleted: int = (await self.expired().adelete())[0]
        return deleted
