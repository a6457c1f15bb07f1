"""An asyncio listener runner that answers Slack the moment ``await ack()`` is called.

Bolt's :class:`~slack_bolt.listener.asyncio_runner.AsyncioListenerRunner` starts a listener as a task and
then polls ``ack.response`` with ``asyncio.sleep(0.01)``, so every slash command, action, shortcut,
options request and view submission served by an ``AsyncApp`` costs at least 10 ms before Django can
answer. This runner keeps Bolt's semantics (auto-ack for events, ``ack_timeout``, the warning for a
listener that never acks, the error handler's 500, lazy listeners, start and completion handlers) and
replaces the polling loop with an :class:`asyncio.Event` that ``ack()`` sets: the async counterpart of
:class:`~django_slack_bolt.listener_runner.FastAckThreadListenerRunner`.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import get_name_for_callable

__all__ = ["FastAckAsyncioListenerRunner", "SignallingAsyncAck"]


class SignallingAsyncAck(AsyncAck):
    """An :class:`~slack_bolt.context.ack.async_ack.AsyncAck` that wakes the waiting request at once.

    Bolt sets ``ack.response`` both by calling ``ack()`` and, in its error path, by assigning to it; a
    property catches both. The first answer is kept: when Bolt's error path clears ``response`` after
    the listener had acknowledged, Slack still gets the acknowledgement.
    """

    def __init__(self, response: BoltResponse | None = None) -> None:
        self._lock = threading.Lock()
        self._response: BoltResponse | None = None
        self._first_response: BoltResponse | None = None
        # Created by wait(), in the event loop of the request that waits; events need no waiting.
        self._acknowledged: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__()  # type: ignore[no-untyped-call]
        if response is not None:
            self.response = response

    @property
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        self._response = value
        if value is None or self._first_response is not None:
            return
        with self._lock:
            if self._first_response is not None:
                return
            self._first_response = value
            acknowledged, loop = self._acknowledged, self._loop
        if acknowledged is None or loop is None:
            return
        if _running_loop() is loop:
            acknowledged.set()
        else:
            # ack() called from another thread (e.g. a listener bridging through async_to_sync):
            # an asyncio.Event may only be set from its own loop.
            loop.call_soon_threadsafe(acknowledged.set)

    async def wait(self, timeout: float) -> BoltResponse | None:
        """Wait until the listener acknowledges or ``timeout`` seconds pass; the response, if any."""
        with self._lock:
            if self._first_response is None:
                self._acknowledged = asyncio.Event()
                self._loop = asyncio.get_running_loop()
            acknowledged = self._acknowledged
        if acknowledged is not None and not acknowledged.is_set():
            try:
                await asyncio.wait_for(acknowledged.wait(), timeout=max(timeout, 0.0))
            except asyncio.TimeoutError:
                return None
        return self._response if self._response is not None else self._first_response

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncAck:
        # Bolt deep-copies the request (ack included) for lazy listeners; an asyncio.Event bound to a
        # loop cannot be copied, and a lazy listener's ack() has nobody waiting on it anyway.
        copied = AsyncAck()  # type: ignore[no-untyped-call]
        copied.response = copy.deepcopy(self._response, memo)
        return copied

    @classmethod
    def install(cls, context: AsyncBoltContext) -> SignallingAsyncAck:
        """Put a signalling ack into ``context`` in place of Bolt's, keeping any answer it already has."""
        current = context.get("ack")
        if isinstance(current, cls):
            return current
        ack = cls(current.response if isinstance(current, AsyncAck) else None)
        context["ack"] = ack
        return ack


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FastAckAsyncioListenerRunner(AsyncioListenerRunner):
    """:class:`AsyncioListenerRunner` with event-driven ``ack()`` waiting instead of 10 ms polling.

    It also keeps a reference to each listener task until it finishes: the event loop holds tasks only
    weakly, and Bolt's runner keeps none, so a listener still running after its ack could be collected.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_runner(cls, runner: AsyncioListenerRunner) -> FastAckAsyncioListenerRunner:
        """A fast-ack runner with the same handlers and lazy runner as ``runner``."""
        return cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            lazy_listener_runner=runner.lazy_listener_runner,
        )

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if self.process_before_response:
            # That mode runs the listener before answering: there is no waiting to speed up.
            return await super().run(request, response, listener_name, listener, starting_time)

        starting_time = starting_time if starting_time is not None else time.time()
        ack = SignallingAsyncAck.install(request.context)
        if listener.auto_acknowledgement:
            # Events API: acknowledge at once, as Bolt does.
            await ack()

        if not request.lazy_only:
            task = asyncio.ensure_future(self._run_ack_function(request, response, listener, ack))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        for lazy_func in listener.lazy_functions:
            if request.lazy_function_name:
                if self._lazy_name(lazy_func) == request.lazy_function_name:
                    await self.lazy_listener_runner.run(function=lazy_func, request=request)
                    # This HTTP response is never sent to Slack.
                    return BoltResponse(status=200)
                continue
            self._start_lazy_function(lazy_func, request)

        acknowledged = await ack.wait(listener.ack_timeout - (time.time() - starting_time))
        if response is not None:
            # A middleware's response wins over ack()'s, as in Bolt.
            return response
        if acknowledged is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        self._debug_log_completion(starting_time, acknowledged)
        return acknowledged

    async def _run_ack_function(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse | None,
        listener: AsyncListener,
        ack: SignallingAsyncAck,
    ) -> None:
        # Mirrors Bolt's run_ack_function_asynchronously, error handling included.
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)  # type: ignore[arg-type]
        except Exception as e:
            if response is None:
                response = BoltResponse(status=500)
            response.status = 500
            if ack.response is not None:  # already acknowledged
                response = None
            await self.listener_error_handler.handle(
                error=e,
                request=request,
                response=response,
            )
            ack.response = response
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)

    @staticmethod
    def _lazy_name(lazy_func: Callable[..., Any]) -> str:
        return get_name_for_callable(lazy_func)
