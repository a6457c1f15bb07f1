"""The thread listener runner of an ``App``: answers Slack the moment ``ack()`` is called.

Bolt's :class:`~slack_bolt.listener.thread_runner.ThreadListenerRunner` starts a listener in a worker
thread and then polls ``ack.response`` every 10 ms. This runner keeps Bolt's semantics (the shared part
is :mod:`~django_slack_bolt.http.fast_ack`) and has ``ack()`` hand control straight to the waiting
request thread. Its asyncio twin is :mod:`~django_slack_bolt.http.asyncio_runner`: the two differ only
in how a request waits and in awaiting Bolt's calls.
"""

from __future__ import annotations

import threading
import time

from slack_bolt.context.ack import Ack
from slack_bolt.listener import Listener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from .fast_ack import FastAckRunnerMixin, FirstAnswerAck, failed_ack_response, report_lost_event

__all__ = ["FastAckThreadListenerRunner", "SignallingAck"]

# How long a listener thread that acknowledged waits for the request thread to take over (see _Handoff).
_HANDOFF_TIMEOUT_SECONDS = 0.05


class _Handoff:
    """Passes control from the listener thread that calls ``ack()`` to the request thread waiting for it.

    Setting an event is not enough: the listener thread keeps the GIL and usually has more to do after
    ``ack()`` (the rest of the listener, the completion handler), so the request thread could only answer
    Slack once the listener blocks or the interpreter's switch interval (5 ms) runs out. The listener
    thread therefore blocks, releasing the GIL, until the request thread says it is running again.
    """

    def __init__(self) -> None:
        self.acknowledged = threading.Event()
        self.resumed = threading.Event()

    def give(self) -> None:
        self.acknowledged.set()
        # Blocking here releases the GIL: the waiting request thread runs next.
        self.resumed.wait(_HANDOFF_TIMEOUT_SECONDS)

    def take(self, timeout: float) -> bool:
        acknowledged = self.acknowledged.wait(timeout=max(timeout, 0.0))
        self.resumed.set()  # also on a timeout: a late ack() must not wait for a request thread gone
        return acknowledged


class SignallingAck(FirstAnswerAck[_Handoff], Ack):
    """An :class:`~slack_bolt.context.ack.Ack` that wakes the request thread as soon as it is answered."""

    bolt_ack = Ack

    def _wake(self, waiter: _Handoff) -> None:
        waiter.give()

    def wait(self, timeout: float) -> BoltResponse | None:
        """Block until the listener acknowledges or ``timeout`` seconds pass; the response, if any."""
        handoff = self._waiter_for_unanswered(_Handoff)
        if handoff is not None and not handoff.take(timeout):
            return None
        return self.answer()


class FastAckThreadListenerRunner(FastAckRunnerMixin, ThreadListenerRunner):
    """:class:`ThreadListenerRunner` with event-driven ``ack()`` waiting instead of 10 ms polling."""

    extra_runner_arguments = ("listener_executor",)

    def run(
        self,
        request: BoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: Listener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if self.process_before_response:
            # That mode runs the listener in the request thread: there is no waiting to speed up.
            return super().run(request, response, listener_name, listener, starting_time)

        starting_time = starting_time if starting_time is not None else time.time()
        ack = SignallingAck.install(request.context)
        if listener.auto_acknowledgement:
            # Events API: acknowledge at once, as Bolt does.
            ack()
        if not request.lazy_only:
            self.listener_executor.submit(self._run_ack_function, request, response, listener, ack)
        alone, to_start = self.lazy_plan(listener, request)
        if alone is not None:
            self.lazy_listener_runner.run(function=alone, request=request)
            return BoltResponse(status=200)  # never sent to Slack
        for function in to_start:
            self._start_lazy_function(function, request)
        acknowledged = ack.wait(self.time_left(listener, starting_time))
        return self.final_answer(response, acknowledged, listener_name, starting_time)

    def _run_ack_function(
        self, request: BoltRequest, response: BoltResponse | None, listener: Listener, ack: SignallingAck
    ) -> None:
        # Mirrors Bolt's run_ack_function_asynchronously, error handling included.
        try:
            self.listener_start_handler.handle(request=request, response=response)
            listener.run_ack_function(request=request, response=response)  # type: ignore[arg-type]
        except Exception as e:
            if listener.auto_acknowledgement:
                self.listener_error_handler.handle(error=e, request=request, response=response)
                report_lost_event(self, request.body, e)
            else:
                response = failed_ack_response(response, ack)
                self.listener_error_handler.handle(error=e, request=request, response=response)
                ack.response = response
        finally:
            self.listener_completion_handler.handle(request=request, response=response)
