"""The lazy part's apps: ``/report`` acks at once and hands its slow work to a lazy listener; ``/ping`` acks.

The lazy listener stands for a slow Web API or LLM call (seconds): it holds its thread, blocked on the
part's :data:`gate`, until the harness opens the gate at the end of the cell. Two identical apps, one
per adapter, each served at its own URL (:mod:`project.urls`).
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import Ack, App

from .common import SIGNING_SECRET, authorize

REPORT_COMMAND = "/report"
REPORT_REPLY = "report queued"
PING_COMMAND = "/ping"
PING_REPLY = "pong"
# However the harness fails, a held lazy listener lets its thread go after this long.
HOLD_AT_MOST_S = 120.0
# The apps' logger: the part quiets the warnings it counts itself (Bolt's "didn't call ack()").
LOGGER_NAME = "bench.lazy_apps"


class Gate:
    """Holds every lazy listener until :meth:`open`, and counts those that started and finished."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self.started = 0
        self.finished = 0

    def reset(self) -> None:
        """A closed gate and zero counts, for the next cell (its lazy listeners have all finished)."""
        with self._lock:
            self._event = threading.Event()
            self.started = self.finished = 0

    def open(self) -> None:
        self._event.set()

    def hold(self) -> None:
        with self._lock:
            self.started += 1
            event = self._event
        try:
            event.wait(HOLD_AT_MOST_S)
        finally:
            with self._lock:
                self.finished += 1

    @property
    def running(self) -> int:
        with self._lock:
            return self.started - self.finished


gate = Gate()


def build_lazy_app() -> App:
    """``/report``: ``ack()`` at once, then a lazy listener held by :data:`gate`; ``/ping``: ``ack()``."""
    app = App(signing_secret=SIGNING_SECRET, authorize=authorize, logger=logging.getLogger(LOGGER_NAME))

    def acknowledge_report(ack: Ack) -> None:
        ack(REPORT_REPLY)

    def write_report() -> None:
        gate.hold()

    app.command(REPORT_COMMAND)(ack=acknowledge_report, lazy=[write_report])

    @app.command(PING_COMMAND)
    def ping(ack: Ack) -> None:
        ack(PING_REPLY)

    return app
