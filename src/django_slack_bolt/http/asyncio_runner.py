"""The asyncio listener runner of an ``AsyncApp``: answers Slack the moment ``await ack()`` is called.

Bolt's :class:`~slack_bolt.listener.asyncio_runner.AsyncioListenerRunner` starts a listener as a task
and then polls ``ack.response`` with ``asyncio.sleep(0.01)``. This runner keeps Bolt's semantics (the
shared part is :mod:`~django_slack_bolt.http.fast_ack`) and waits on an :class:`asyncio.Event` that
``ack()`` sets. Its thread twin is :mod:`~django_slack_bolt.http.thread_runner`: the two differ only in
how a request waits and in awaiting Bolt's calls.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from .fast_ack import FastAckRunnerMixin, FirstAnswerAck, failed_ack_response, report_lost_event

__all__ = ["FastAckAsyncioListenerRunner", "SignallingAsyncAck"]

# The event a waiting request awaits, and the loop it belongs to.
_Waiter = tuple[asyncio.Event, asyncio.AbstractEventLoop]


class SignallingAsyncAck(FirstAnswerAck[_Waiter], AsyncAck):
    """An :class:`~slack_bolt.context.ack.async_ack.AsyncAck` that wakes the waiting request at once."""

    bolt_ack = AsyncAck

    def _wake(self, waiter: _Waiter) -> None:
        acknowledged, loop = waiter
        if _running_loop() is loop:
            acknowledged.set()
        else:
            # ack() called from another thread (e.g. a listener bridging through async_to_sync):
            # an asyncio.Event may only be set from its own loop.
            loop.call_soon_threadsafe(acknowledged.set)

    async def wait(self, timeout: float) -> BoltResponse | None:
        """Wait until the listener acknowledges or ``timeout`` seconds pass; the response, if any."""
        waiter = self._waiter_for_unanswered(lambda: (asyncio.Event(), asyncio.get_running_loop()))
        if waiter is not None and not waiter[0].is_set():
            try:
                await asyncio.wait_for(waiter[0].wait(), timeout=max(timeout, 0.0))
            except asyncio.TimeoutError:
                return None
        return self.answer()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FastAckAsyncioListenerRunner(FastAckRunnerMixin, AsyncioListenerRunner):
    """:class:`AsyncioListenerRunner` with event-driven ``ack()`` waiting instead of 10 ms polling.

    It also keeps a reference to each listener task until it finishes: the event loop holds tasks only
    weakly, and Bolt's runner keeps none, so a listener still running after its ack could be collected.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tasks: set[asyncio.Task[None]] = set()

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
        alone, to_start = self.lazy_plan(listener, request)
        if alone is not None:
            await self.lazy_listener_runner.run(function=alone, request=request)
            return BoltResponse(status=200)  # never sent to Slack
        for function in to_start:
            self._start_lazy_function(function, request)
        acknowledged = await ack.wait(self.time_left(listener, starting_time))
        return self.final_answer(response, acknowledged, listener_name, starting_time)

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
            response = failed_ack_response(response, ack)
            await self.listener_error_handler.handle(error=e, request=request, response=response)
            ack.response = response
            if listener.auto_acknowledgement:
                report_lost_event(self, request.body, e)
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)
