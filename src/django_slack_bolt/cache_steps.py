"""Cache logic written once, run through Django's sync or async cache API.

A piece of logic that talks to the cache is written as a generator that yields the calls it needs,
``CacheCall("get_many", [keys])``, and receives each result; :func:`run` performs the calls with the
sync API (``cache.get_many``), :func:`arun` with the async one (``await cache.aget_many``). So a sync
and an async caller share every decision, and only the two small drivers differ (httpx drives its
auth flows the same way).

:func:`run_or` and :func:`arun_or` are the drivers for a cache that may fail (Redis stopped, out of
memory, a network blip): the caller gets its fallback, the outage is logged once, and the next call
tries the cache again, so service recovers by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches

__all__ = ["CacheCall", "CacheSteps", "arun", "arun_or", "outages", "run", "run_or"]

logger = logging.getLogger("django_slack_bolt.cache")

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


class _Outages:
    """Which caches are failing: logged once when one starts failing and once when it answers again,
    not per request (a Redis outage under load would otherwise flood the log)."""

    def __init__(self) -> None:
        self._failing: set[str] = set()
        self._lock = threading.Lock()

    def failed(self, alias: str, error: BaseException) -> None:
        with self._lock:
            first = alias not in self._failing
            self._failing.add(alias)
        if first:
            logger.warning(
                "The %r cache failed (%s: %s); django_slack_bolt works without it until it answers again.",
                alias,
                type(error).__name__,
                error,
            )

    def answered(self, alias: str) -> None:
        if alias not in self._failing:  # the usual case: no lock
            return
        with self._lock:
            recovered = alias in self._failing
            self._failing.discard(alias)
        if recovered:
            logger.warning("The %r cache answers again.", alias)

    def is_failing(self, alias: str) -> bool:
        return alias in self._failing


outages = _Outages()


def run_or(steps: CacheSteps[T], alias: str, fallback: T) -> T:
    """Drive ``steps`` with the cache ``alias``; when the cache fails, ``fallback`` (and the outage is
    logged once, see :data:`outages`)."""
    try:
        result = run(steps, caches[alias])
    except Exception as error:
        return _gave_up(steps, alias, error, fallback)
    outages.answered(alias)
    return result


async def arun_or(steps: CacheSteps[T], alias: str, fallback: T) -> T:
    """:func:`run_or` through the async cache API."""
    try:
        result = await arun(steps, caches[alias])
    except Exception as error:
        return _gave_up(steps, alias, error, fallback)
    outages.answered(alias)
    return result


def _gave_up(steps: CacheSteps[T], alias: str, error: Exception, fallback: T) -> T:
    steps.close()
    outages.failed(alias, error)
    return fallback
