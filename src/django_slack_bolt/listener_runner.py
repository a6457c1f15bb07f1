"""A thread listener runner that answers Slack the moment ``ack()`` is called.

Bolt's :class:`~slack_bolt.listener.thread_runner.ThreadListenerRunner` starts a listener in a worker
thread and then polls ``ack.response`` every 10 ms, so every slash command, action, shortcut, options
request and view submission costs at least 10 ms before Django can answer. This runner keeps Bolt's
semantics (auto-ack for events, ``ack_timeout``, the warning for a listener that never acks, the error
handler's 500, lazy listeners, start and completion handlers) and replaces the polling loop with a
:class:`threading.Event` that ``ack()`` sets.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack import Ack
from slack_bolt.context.context import BoltContext
from slack_bolt.listener import Listener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import get_name_for_callable

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


class SignallingAck(Ack):
    """An :class:`~slack_bolt.context.ack.Ack` that wakes the request thread as soon as it is answered.

    Bolt sets ``ack.response`` both by calling ``ack()`` and, in its error path, by assigning to it;
    a property catches both. Waiting is only set up when the request thread has to wait: events are
    acknowledged before their listener starts, and need none of it.
    """

    def __init__(self, response: BoltResponse | None = None) -> None:
        self._lock = threading.Lock()
        self._handoff: _Handoff | None = None
        self._response: BoltResponse | None = None
        self._first_response: BoltResponse | None = None
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
            handoff = self._handoff
        if handoff is not None:
            handoff.give()

    def wait(self, timeout: float) -> BoltResponse | None:
        """Block until the listener acknowledges or ``timeout`` seconds pass; the response, if any.

        When Bolt's error path clears ``response`` after the listener had already acknowledged, the
        first answer is what Slack gets (Bolt's polling loop would answer it or nothing, by chance).
        """
        with self._lock:
            if self._first_response is None:
                self._handoff = _Handoff()
        if self._handoff is not None and not self._handoff.take(timeout):
            return None
        return self._response if self._response is not None else self._first_response

    def __deepcopy__(self, memo: dict[int, Any]) -> Ack:
        # Bolt deep-copies the request (ack included) for lazy listeners; an Event cannot be copied,
        # and a lazy listener's ack() has nobody waiting on it anyway.
        copied = Ack()  # type: ignore[no-untyped-call]
        copied.response = copy.deepcopy(self._response, memo)
        return copied

    @classmethod
    def install(cls, context: BoltContext) -> SignallingAck:
        """Put a signalling ack into ``context`` in place of Bolt's, keeping any answer it already has."""
        current = context.get("ack")
        if isinstance(current, cls):
            return current
        ack = cls(current.response if isinstance(current, Ack) else None)
        context["ack"] = ack
        return ack


class FastAckThreadListenerRunner(ThreadListenerRunner):
    """:class:`ThreadListenerRunner` with event-driven ``ack()`` waiting instead of 10 ms polling."""

    @classmethod
    def from_runner(cls, runner: ThreadListenerRunner) -> FastAckThreadListenerRunner:
        """A fast-ack runner with the same handlers, executor and lazy runner as ``runner``."""
        return cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            listener_executor=runner.listener_executor,
            lazy_listener_runner=runner.lazy_listener_runner,
        )

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

        for lazy_func in listener.lazy_functions:
            if request.lazy_function_name:
                if self._lazy_name(lazy_func) == request.lazy_function_name:
                    self.lazy_listener_runner.run(function=lazy_func, request=request)
                    # This HTTP response is never sent to Slack.
                    return BoltResponse(status=200)
                continue
            self._start_lazy_function(lazy_func, request)

        acknowledged = ack.wait(listener.ack_timeout - (time.time() - starting_time))
        if response is not None:
            # A middleware's response wins over ack()'s, as in Bolt.
            return response
        if acknowledged is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        self._debug_log_completion(starting_time, acknowledged)
        return acknowledged

    def _run_ack_function(
        self,
        request: BoltRequest,
        response: BoltResponse | None,
        listener: Listener,
        ack: SignallingAck,
    ) -> None:
        # Mirrors Bolt's run_ack_function_asynchronously, error handling included.
        try:
            self.listener_start_handler.handle(request=request, response=response)
            listener.run_ack_function(request=request, response=response)  # type: ignore[arg-type]
        except Exception as e:
            if listener.auto_acknowledgement:
                self.listener_error_handler.handle(error=e, request=request, response=response)
            else:
                if response is None:
                    response = BoltResponse(status=500)
                response.status = 500
                if ack.response is not None:  # already acknowledged
                    response = None
                self.listener_error_handler.handle(error=e, request=request, response=response)
                ack.response = response
        finally:
            self.listener_completion_handler.handle(request=request, response=response)

    @staticmethod
    def _lazy_name(lazy_func: Callable[..., None]) -> str:
        return get_name_for_callable(lazy_func)
