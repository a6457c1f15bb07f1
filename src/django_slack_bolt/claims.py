"""Claims: the first process to claim a key wins it, atomically, in a cache every process shares.

One mechanism for "has this been seen before?": a replayed signed request
(:mod:`django_slack_bolt.http.replay`) is refused because its first sighting claimed it. A claim is
``cache.add`` (atomic in Redis, Memcached and the database cache) with a time to live; it can be
released when the work it stood for did not happen, so that the next delivery claims it again. The
steps are written once (:mod:`django_slack_bolt.cache_steps`) and run by sync and async callers.
"""

from __future__ import annotations

import hashlib
from typing import Final

from .cache_steps import CacheCall, CacheSteps

__all__ = ["claim", "claim_key", "release"]

PREFIX: Final = "django_slack_bolt:claim:"


def claim_key(kind: str, *parts: str) -> str:
    """The cache key of the claim on ``parts`` (hashed: they may be long or hold any character)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{PREFIX}{kind}:{digest}"


def claim(key: str, seconds: int) -> CacheSteps[bool]:
    """Claim ``key`` for ``seconds``: ``True`` for the first claim, ``False`` while another holds it."""
    added = yield CacheCall.of("add", key, 1, timeout=max(1, seconds))
    return bool(added)


def release(key: str) -> CacheSteps[None]:
    """Give ``key`` up, so that the next claim on it wins."""
    yield CacheCall.of("delete", key)
