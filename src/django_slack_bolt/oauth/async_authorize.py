"""``AsyncDjangoAuthorize``: :class:`~django_slack_bolt.oauth.authorize.DjangoAuthorize` for ``AsyncApp``.

Apart from the sync module because Bolt's async side imports aiohttp (the ``async`` extra). Every
decision is :class:`DjangoAuthorize`'s (the cache key, the database path with its lock, the result);
this class only awaits the cache and runs the database path in a thread. ``__call__``'s signature is
Bolt's, so it stands in both.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext

from .. import cache_steps
from . import authorization_cache
from .authorize import DjangoAuthorize
from .installation_store import DjangoInstallationStore

__all__ = ["AsyncDjangoAuthorize"]


def _release_connections() -> None:
    """Close this thread's connections, unless a transaction (a test's) holds one.

    Under ASGI, Django runs a request's sync ORM work in a thread of the request's own, which ends
    with the request: a connection kept open there for ``CONN_MAX_AGE`` is reused by nobody and stays
    open until the garbage collector finds it.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


class AsyncDjangoAuthorize(AsyncAuthorize):
    """:class:`DjangoAuthorize` for ``AsyncApp``: the cache through Django's async cache API, the
    database path (with its lock) through ``sync_to_async``, like Django's own async ORM."""

    def __init__(self, **kwargs: Any) -> None:
        self.sync_authorize = DjangoAuthorize(**kwargs)

    def __repr__(self) -> str:
        return f"<AsyncDjangoAuthorize store={self.sync_authorize.installation_store!r}>"

    def _authorize_from_database(self, **kwargs: Any) -> AuthorizeResult | None:
        try:
            return self.sync_authorize.authorize_from_database(**kwargs)
        finally:
            _release_connections()

    @property
    def installation_store(self) -> DjangoInstallationStore:
        return self.sync_authorize.installation_store

    @property
    def token_rotation_expiration_minutes(self) -> int:
        return self.sync_authorize.token_rotation_expiration_minutes

    @token_rotation_expiration_minutes.setter
    def token_rotation_expiration_minutes(self, minutes: int) -> None:
        self.sync_authorize.token_rotation_expiration_minutes = minutes

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        key = self.sync_authorize.cache_key(context, enterprise_id, team_id, user_id)
        cache_lookup = (
            await cache_steps.arun_or(
                authorization_cache.lookup_steps(key), authorization_cache.cache_alias(), None
            )
            if key is not None
            else None
        )
        if cache_lookup is not None and cache_lookup.result is not None:
            return cache_lookup.result
        return await sync_to_async(self._authorize_from_database)(
            context=context,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            actor=(actor_enterprise_id, actor_team_id, actor_user_id),
            cache_lookup=cache_lookup,
            client=context.client,
        )
