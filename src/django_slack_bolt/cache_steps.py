"""Cache logic written once, run through Django's sync or async cache API.

A piece of logic that talks to the cache is written as a generator that yields the calls it needs,
``CacheCall("get_many", [keys])``, and receives each result; :func:`run` performs the calls with the
sync API (``cache.get_many``), :func:`arun` with the async one (``await cache.aget_many``). So a sync
and an async caller share every decision, and only the two small drivers differ (httpx drives its
auth flows the same way).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import BaseCache

__all__ = ["CacheCall", "CacheSteps", "arun", "run"]

T = TypeVar("T")


@dataclass(frozen=True)
class CacheCall:
    """One call of Django's cache API: the sync method's name and its arguments."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, method: str, *args: Any, **kwargs: Any) -> CacheCall:
        return cls(method, args, tuple(kwargs.items()))


# Yields the calls, is sent their results, returns its answer.
CacheSteps = Generator[CacheCall, Any, T]


def run(steps: CacheSteps[T], cache: BaseCache) -> T:
    """Drive ``steps`` with ``cache``'s sync API."""
    try:
        call = next(steps)
        while True:
            call = steps.send(getattr(cache, call.method)(*call.args, **dict(call.kwargs)))
    except StopIteration as done:
        result: T = done.value
        return result


async def arun(steps: CacheSteps[T], cache: BaseCache) -> T:
    """Drive ``steps`` with ``cache``'s async API (``aget`` for ``get``, and so on)."""
    try:
        call = next(steps)
        while True:
            call = steps.send(await getattr(cache, "a" + call.method)(*call.args, **dict(call.kwargs)))
    except StopIteration as done:
        result: T = done.value
        return result
