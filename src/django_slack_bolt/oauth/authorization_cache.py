"""Authorizations kept in Django's cache, encrypted, and invalidated per workspace.

An entry is one :class:`~slack_bolt.authorization.AuthorizeResult` for one (workspace, user) pair.
Each workspace has a *generation* key; an entry is valid only while the generation it was built
under is current. Saving, deleting or rotating a workspace's installation writes a new generation,
which invalidates every user's entry for that workspace at once, in every process sharing the cache.
A lookup reads the entry and the generation in one ``get_many`` round trip.

Entries hold tokens, so they are Fernet-encrypted with the token keys before they reach the cache
(a Redis or memcached dump shows no token either).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from django.core.cache import BaseCache, caches
from django.db import transaction
from slack_bolt.authorization import AuthorizeResult

from .. import cache_steps, conf
from ..cache_steps import CacheCall, CacheSteps
from ..exceptions import CacheUnavailable
from .encryption import get_fernet

PREFIX: Final = "django_slack_bolt:authorize:"
# AuthorizeResult keys kept in an entry (the rest are derived by AuthorizeResult itself).
_RESULT_FIELDS: Final = (
    "enterprise_id",
    "team_id",
    "team",
    "url",
    "bot_user_id",
    "bot_id",
    "bot_token",
    "bot_scopes",
    "user_id",
    "user_token",
    "user_scopes",
)


def _part(value: str | None) -> str:
    return value if value else "-"


def generation_key(client_id: str, enterprise_id: str | None, team_id: str | None) -> str:
    return f"{PREFIX}gen:{_part(client_id)}:{_part(enterprise_id)}:{_part(team_id)}"


def entry_key(
    client_id: str, enterprise_id: str | None, team_id: str | None, user_id: str | None, bot_only: bool
) -> str:
    kind = "bot" if bot_only else "u"
    return f"{PREFIX}{kind}:{_part(client_id)}:{_part(enterprise_id)}:{_part(team_id)}:{_part(user_id)}"


def get_cache() -> BaseCache:
    return caches[conf.get_setting("AUTHORIZE_CACHE")]


def cache_alias() -> str:
    return str(conf.get_setting("AUTHORIZE_CACHE"))


# A generation being replaced by a transaction not yet committed: nothing is cached under it.
PENDING_PREFIX: Final = "pending:"
# How long a pending generation lasts when the write that ends it fails: then the next lookup starts
# a new generation, and builds its entry from what the database holds by then.
PENDING_SECONDS: Final = 60


def invalidate_on_commit(
    client_id: str, enterprise_id: str | None, team_id: str | None, *, using: str, refuse_on_error: bool
) -> None:
    """Invalidate the cached authorizations of a workspace whose rows the current transaction changes.

    Before the commit, the workspace's generation (and its org's) becomes a pending one, under which no
    process caches anything; after the commit, a fresh one. So no entry built from the rows before the
    change can be served after it, not even when the cache fails between the two writes: the pending
    generation then stays until it expires, and every lookup reads the database meanwhile.

    When the first write fails and ``refuse_on_error`` is set, :class:`CacheUnavailable` is raised and
    the change rolls back: the database and the cache keep agreeing (a save or a delete can be made
    again). A token rotation cannot be undone (Slack has spent the old refresh token), so it passes
    ``refuse_on_error=False``: the entries of a token due for rotation are not served anyway.
    """
    keys = [generation_key(client_id, enterprise_id, team_id)]
    if team_id is not None:
        # Org-wide lookups use team None: an org's cached entries go with any of its rows.
        keys.append(generation_key(client_id, enterprise_id, None))
    alias = cache_alias()
    pending = {key: PENDING_PREFIX + uuid.uuid4().hex for key in keys}
    try:
        failed = get_cache().set_many(pending, timeout=PENDING_SECONDS)
        if failed:
            raise CacheUnavailable(f"the {alias!r} cache did not store {len(failed)} key(s)")
    except Exception as error:
        cache_steps.outages.failed(alias, error)
        if refuse_on_error:
            raise CacheUnavailable(
                f"The {alias!r} cache (SLACK_BOLT['AUTHORIZE_CACHE']) refused the write that keeps cached "
                "authorizations in step with the database: the installation was not changed."
            ) from error
    transaction.on_commit(lambda: _start_new_generations(keys, alias), using=using)


def _start_new_generations(keys: list[str], alias: str) -> None:
    try:
        failed = get_cache().set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
        if failed:
            raise CacheUnavailable(f"the {alias!r} cache did not store {len(failed)} key(s)")
    except Exception as error:
        # The pending generations stay until they expire: nothing stale is served meanwhile.
        cache_steps.outages.failed(alias, error)


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for one (workspace, user): ``result`` is None on a miss.

    ``generation`` is the workspace's generation read with the entry: an entry built after this
    lookup is stored under it, so an invalidation that happens in between is never lost.
    """

    result: AuthorizeResult | None
    generation: str
    entry_key: str
    generation_key: str

    @property
    def storable(self) -> bool:
        """Whether an entry built now may be cached: not while a change to the workspace is pending."""
        return not self.generation.startswith(PENDING_PREFIX)


class Key(NamedTuple):
    """Which authorization: of one user (``None``: the workspace's) in one workspace of one app."""

    client_id: str
    enterprise_id: str | None
    team_id: str | None
    user_id: str | None
    bot_only: bool


def lookup_steps(wanted: Key) -> CacheSteps[Lookup]:
    """The cache calls of a lookup (see :mod:`django_slack_bolt.cache_steps`)."""
    gen_key = generation_key(wanted.client_id, wanted.enterprise_id, wanted.team_id)
    key = entry_key(*wanted)
    found = yield CacheCall.of("get_many", [gen_key, key])
    generation = found.get(gen_key)
    if generation is None:
        candidate = uuid.uuid4().hex
        # add() keeps a generation another process wrote in the meantime; read back the winner.
        added = yield CacheCall.of("add", gen_key, candidate, timeout=None)
        generation = candidate if added else (yield CacheCall.of("get", gen_key, candidate))
        return Lookup(None, generation, key, gen_key)
    return Lookup(_valid_entry(found.get(key), generation), generation, key, gen_key)


def lookup(
    client_id: str, enterprise_id: str | None, team_id: str | None, user_id: str | None, bot_only: bool
) -> Lookup:
    """The cached authorization of (workspace, user), if valid, with the generation it was read under.

    The arguments are a :class:`Key`'s fields: ``lookup(*key)``.
    """
    return cache_steps.run(
        lookup_steps(Key(client_id, enterprise_id, team_id, user_id, bot_only)), get_cache()
    )


def _valid_entry(entry: Any, generation: str) -> AuthorizeResult | None:
    if not isinstance(entry, dict) or entry.get("generation") != generation:
        return None
    if entry.get("refresh_after") is not None and time.time() >= entry["refresh_after"]:
        # A token is due for rotation: the database path refreshes it under a lock.
        return None
    return _decode(entry["sealed"])


def store(found: Lookup, result: AuthorizeResult, *, refresh_after: float | None) -> None:
    """Cache ``result`` under the generation ``found`` was read with (unless a change is pending).

    A cache that fails here costs the next request a query, and is logged once per outage.
    """
    if not found.storable:
        return
    entry = {"generation": found.generation, "refresh_after": refresh_after, "sealed": _encode(result)}
    alias = cache_alias()
    try:
        get_cache().set(found.entry_key, entry, timeout=conf.get_setting("AUTHORIZE_CACHE_TIMEOUT"))
    except Exception as error:
        cache_steps.outages.failed(alias, error)


def _encode(result: AuthorizeResult) -> str:
    fields = {name: result.get(name) for name in _RESULT_FIELDS}
    return get_fernet().encrypt(json.dumps(fields).encode("utf-8")).decode("ascii")


def _decode(sealed: str) -> AuthorizeResult | None:
    try:
        fields: dict[str, Any] = json.loads(get_fernet().decrypt(sealed.encode("ascii")))
    except Exception:
        # A key was retired since: treat as a miss, the database path builds a new entry.
        return None
    return AuthorizeResult(**fields)
