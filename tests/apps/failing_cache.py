"""A cache that fails on demand, as Redis does when stopped, out of memory or unreachable.

``FailingCache.failing = {"add", "set"}`` makes those methods (and their async twins) raise until it
is emptied; reads can fail while writes work, or the other way round, as with Redis's ``noeviction``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.cache.backends.locmem import LocMemCache


class CacheDown(ConnectionError):
    """What the cache client raises: the server does not answer."""


class FailingCache(LocMemCache):
    failing: ClassVar[set[str]] = set()
    calls: ClassVar[list[str]] = []

    def _maybe_fail(self, method: str) -> None:
        FailingCache.calls.append(method)
        if method in FailingCache.failing or "*" in FailingCache.failing:
            raise CacheDown(f"the cache refused {method}")

    def add(self, *args: Any, **kwargs: Any) -> bool:
        self._maybe_fail("add")
        return super().add(*args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("get")
        return super().get(*args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("get_many")
        return super().get_many(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._maybe_fail("set")
        super().set(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        self._maybe_fail("delete")
        return super().delete(*args, **kwargs)
