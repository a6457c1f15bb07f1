"""Answering Slack the moment ``ack()`` is called: the logic the thread and asyncio runners share.

Bolt's listener runners start a listener and then poll ``ack.response`` every 10 ms, so every slash
command, action, shortcut, options request and view submission costs at least 10 ms before Django can
answer. Ours keep Bolt's semantics (auto-ack for events, ``ack_timeout``, the warning for a listener
that never acks, the error handler's 500, lazy listeners, start and completion handlers) and wake the
waiting request from ``ack()`` itself.

Everything here is the same for an ``App`` and an ``AsyncApp``: the ack that keeps its first answer,
the choice of lazy listeners to run, and what Slack is answered. What differs is how a waiting request
is woken (a thread handoff in :mod:`~django_slack_bolt.http.thread_runner`, an ``asyncio.Event`` in
:mod:`~django_slack_bolt.http.asyncio_runner`) and whether Bolt's calls are awaited: those stay in the
two runner modules, which are otherwise thin.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import get_name_for_callable

from .. import signals

__all__ = ["FastAckRunnerMixin", "FirstAnswerAck", "failed_ack_response", "report_lost_event"]

events_logger = logging.getLogger("django_slack_bolt.events")

WaiterT = TypeVar("WaiterT")
AckT = TypeVar("AckT", bound="FirstAnswerAck[Any]")


class _BoltAck(Protocol):
    response: BoltResponse | None


class FirstAnswerAck(Generic[WaiterT]):
    """Mixed into Bolt's ``Ack`` or ``AsyncAck`` (named by ``bolt_ack``): wakes a waiting request once.

    Bolt sets ``ack.response`` both by calling ``ack()`` and, in its error path, by assigning to it; a
    property catches both. The first answer is kept: when Bolt's error path clears ``response`` after
    the listener had acknowledged, Slack still gets the acknowledgement (Bolt's polling loop would
    answer it or nothing, by chance). A request sets up a waiter (``WaiterT``) only when it has to
    wait: events are acknowledged before their listener starts, and need none.
    """

    # Bolt's own ack class: what a deep copy becomes, and what install() takes an answer from.
    bolt_ack: ClassVar[type[Any]]

    def __init__(self, response: BoltResponse | None = None) -> None:
        self._lock = threading.Lock()
        self._waiter: WaiterT | None = None
        self._response: BoltResponse | None = None
        self._first_response: BoltResponse | None = None
        super().__init__()  # Bolt's ack, which sets response to None
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
            waiter = self._waiter
        if waiter is not None:
            self._wake(waiter)

    def _wake(self, waiter: WaiterT) -> None:
        """Wake the request waiting on ``waiter``: the first answer has come."""
        raise NotImplementedError

    def _waiter_for_unanswered(self, make: Callable[[], WaiterT]) -> WaiterT | None:
        """The waiter to wait on (made by ``make``), or ``None`` when an answer has come already."""
        with self._lock:
            if self._first_response is None:
                self._waiter = make()
            return self._waiter

    def answer(self) -> BoltResponse | None:
        """What Slack is answered: the latest response, else the first (kept when Bolt cleared it)."""
        return self._response if self._response is not None else self._first_response

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # Bolt deep-copies the request (ack included) for lazy listeners; a waiter cannot be copied,
        # and a lazy listener's ack() has nobody waiting on it anyway.
        copied: _BoltAck = self.bolt_ack()
        copied.response = copy.deepcopy(self._response, memo)
        return copied

    @classmethod
    def install(cls: type[AckT], context: Any) -> AckT:
        """Put one of these into ``context`` in place of Bolt's ack, keeping any answer it already has."""
        current = context.get("ack")
        if isinstance(current, cls):
            return current
        answered: BoltResponse | None = current.response if isinstance(current, cls.bolt_ack) else None
        ack = cls(answered)
        context["ack"] = ack
        return ack


def report_lost_event(runner: object, body: Any, error: BaseException) -> None:
    """An Events API event whose listener raised after it was acknowledged: Slack will not send it
    again. One ERROR record with its event id, and the :data:`~django_slack_bolt.signals.event_lost`
    signal, so that the loss can be seen and counted (Bolt logs the traceback itself)."""
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return
    event = body.get("event")
    event_type = event.get("type") if isinstance(event, dict) else None
    details = {
        "event_id": body.get("event_id"),
        "event_type": event_type,
        "team_id": body.get("team_id"),
        "enterprise_id": body.get("enterprise_id"),
    }
    events_logger.error(
        "Lost Slack event %s (%s, team %s): its listener raised %s after Slack was acknowledged, and Slack "
        "will not send it again.",
        details["event_id"],
        event_type,
        details["team_id"],
        type(error).__name__,
    )
    signals.send(signals.event_lost, sender=type(runner), error=error, **details)


def failed_ack_response(response: BoltResponse | None, ack: FirstAnswerAck[Any]) -> BoltResponse | None:
    """The answer after a listener raised before or after acknowledging, as Bolt's runners build it:
    a 500, unless the listener had acknowledged (then ``None``: the ack stands)."""
    if response is None:
        response = BoltResponse(status=500)
    response.status = 500
    return None if ack.response is not None else response


class FastAckRunnerMixin:
    """Mixed into Bolt's ``ThreadListenerRunner`` or ``AsyncioListenerRunner``: what both runners do
    besides waiting for the ack and calling Bolt."""

    # Constructor arguments taken over from Bolt's runner besides the common ones.
    extra_runner_arguments: ClassVar[tuple[str, ...]] = ()
    logger: Any

    @classmethod
    def from_runner(cls, runner: Any) -> Any:
        """A fast-ack runner with the same handlers (and executor) and lazy runner as Bolt's ``runner``."""
        names = (
            "logger",
            "process_before_response",
            "listener_error_handler",
            "listener_start_handler",
            "listener_completion_handler",
            "lazy_listener_runner",
            *cls.extra_runner_arguments,
        )
        return cls(**{name: getattr(runner, name) for name in names})

    @staticmethod
    def lazy_plan(listener: Any, request: Any) -> tuple[Callable[..., Any] | None, list[Callable[..., Any]]]:
        """``(function, [])`` when ``request`` asks to run one lazy function alone (Bolt's
        ``lazy_function_name``; ``(None, [])`` if the listener has none of that name), else
        ``(None, every lazy function of the listener)`` to start."""
        wanted = request.lazy_function_name
        if not wanted:
            return None, list(listener.lazy_functions)
        for function in listener.lazy_functions:
            if get_name_for_callable(function) == wanted:
                return function, []
        return None, []

    @staticmethod
    def time_left(listener: Any, starting_time: float) -> float:
        """Seconds left of the listener's ``ack_timeout``."""
        return float(listener.ack_timeout) - (time.time() - starting_time)

    def final_answer(
        self,
        response: BoltResponse | None,
        acknowledged: BoltResponse | None,
        listener_name: str,
        starting_time: float,
    ) -> BoltResponse | None:
        """What the runner returns once the wait is over."""
        if response is not None:
            # A middleware's response wins over ack()'s, as in Bolt.
            return response
        if acknowledged is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        self._debug_log_completion(starting_time, acknowledged)
        return acknowledged

    # Bolt's runners define it.
    _debug_log_completion: Callable[[float, BoltResponse], None]
