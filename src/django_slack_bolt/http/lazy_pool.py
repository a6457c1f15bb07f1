"""How many lazy listeners run at once in a web process, apart from the ack functions.

Bolt runs lazy listeners (the work after ``ack()``) on the same executor as the ack functions, five
threads by default: five slow lazy listeners (an LLM call, a report) fill it, and the next command's
ack waits behind them until Slack gives up after three seconds. Here lazy listeners have a pool of
their own, ``SLACK_BOLT["LAZY_LISTENER_WORKERS"]`` wide: threads for an ``App``, tasks running at once
for an ``AsyncApp``. When it is full, a new lazy listener waits for a place (it is not lost), and one
warning says so until the pool has room again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

__all__ = ["LazyListenerPool", "LazyListenerTasks", "LazyListenerThreads"]

logger = logging.getLogger("django_slack_bolt.lazy")


class LazyListenerPool:
    """Counts the lazy listeners in flight against ``size`` and warns once per time it is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._in_flight = 0
        self._warned = False
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Lazy listeners started or waiting for a place, and not finished."""
        return self._in_flight

    def admitted(self) -> None:
        """A lazy listener enters: running, or waiting when the pool is full (then say so, once)."""
        with self._lock:
            self._in_flight += 1
            full = self._in_flight > self.size and not self._warned
            if full:
                self._warned = True
        if full:
            logger.warning(
                "All %d lazy listener workers are busy: new lazy listeners wait for one to finish "
                '(SLACK_BOLT["LAZY_LISTENER_WORKERS"]). Acks are not delayed.',
                self.size,
            )

    def finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight < self.size:
                self._warned = False


class LazyListenerThreads(LazyListenerPool):
    """The pool of an ``App``: a thread pool of its own."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="slack-lazy-listener")

    def submit(self, function: Callable[[], Any]) -> Future[Any]:
        self.admitted()

        def run() -> Any:
            try:
                return function()
            finally:
                self.finished()

        return self.executor.submit(run)


class LazyListenerTasks(LazyListenerPool):
    """The pool of an ``AsyncApp``: at most ``size`` lazy-listener tasks run at once, per event loop."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._semaphores: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            WeakKeyDictionary()
        )

    @asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Wait for a place in the pool, and hold it while the body runs."""
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores.setdefault(loop, asyncio.Semaphore(self.size))
        self.admitted()
        try:
            async with semaphore:
                yield
        finally:
            self.finished()
