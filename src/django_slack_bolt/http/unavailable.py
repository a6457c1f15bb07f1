"""Requests the project cannot serve as it is set up: a 503 with a short JSON reason and one log line.

Some failures at request time are the operator's to fix, not the client's: the app named by
``SLACK_BOLT["APP"]`` does not import, django_slack_bolt's tables were never migrated, the database is
down. Left alone, Django shows its debug page (or a bare 500) and Bolt logs a traceback per request.
Here each becomes a ``503`` whose body says which of a few fixed reasons it is (never the details,
which are the server's business), and one log line that names the fix. Slack retries an event that
got a 5xx, so nothing is lost while the operator fixes it, and service resumes by itself.

Errors that are not configuration problems (a listener's own bug) are not touched here.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Final

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpResponse
from slack_bolt.error import BoltError
from slack_bolt.response import BoltResponse

__all__ = ["Unavailable", "answer_unavailable", "unavailable"]

logger = logging.getLogger("django_slack_bolt.request")

CONTENT_TYPE: Final = "application/json; charset=utf-8"
# Set on a BoltResponse whose failure is logged already: its Django response is marked the same way, so
# that django.utils.log.log_response does not log it a second time.
ALREADY_LOGGED: Final = "django_slack_bolt_already_logged"

# A table or a column the code expects is not in the database: "no such table: x" (SQLite),
# 'relation "x" does not exist' / 'column "y" does not exist' (PostgreSQL), "Table 'x' doesn't exist"
# and "Unknown column" (MySQL, MariaDB).
_NOT_MIGRATED = re.compile(
    r"no such (table|column)|(relation|column) \S+ does not exist|table \S+ doesn't exist|unknown column",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unavailable:
    """Why a request cannot be served: a ``reason`` code for the client and the log's ``detail``."""

    reason: str
    detail: str

    def body(self) -> str:
        return json.dumps({"error": "service_unavailable", "reason": self.reason})

    def log(self, where: str) -> None:
        logger.error("%s answered 503 (%s): %s", where, self.reason, self.detail)

    def bolt_response(self) -> BoltResponse:
        return BoltResponse(status=503, body=self.body(), headers={"Content-Type": CONTENT_TYPE})

    def django_response(self, where: str) -> HttpResponse:
        """The 503 for a Django view, logged here once (Django's own "Service Unavailable" line skipped)."""
        self.log(where)
        response = HttpResponse(self.body(), status=503, content_type=CONTENT_TYPE)
        # django.utils.log.log_response skips responses marked as already logged.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def unavailable(error: BaseException) -> Unavailable | None:
    """The :class:`Unavailable` that ``error`` stands for, or ``None`` when it is not a set-up problem."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    described = f"{type(error).__name__}: {first_line}"
    if isinstance(error, ImproperlyConfigured):
        return Unavailable("app_not_configured", f"{described}. Run `python manage.py check` for the fix.")
    if isinstance(error, BoltError):
        # Raised while a handler sets the app up (e.g. a custom listener runner): the app is not servable.
        return Unavailable("app_not_configured", f"{described}. Run `python manage.py check` for the fix.")
    if isinstance(error, (IntegrityError, DataError)):
        return None  # about the data at hand, not the set-up
    if isinstance(error, DatabaseError):
        if _NOT_MIGRATED.search(first_line):
            return Unavailable(
                "database_not_migrated",
                f"{described}. Run `python manage.py migrate` (`python manage.py check --database default` "
                "lists what is missing).",
            )
        return Unavailable("database_unavailable", f"{described}. Requests are served again once it answers.")
    return None


def answer_unavailable(error: BaseException, response: BoltResponse) -> bool:
    """For Bolt's middleware error handlers: when ``error`` is a set-up problem, log it and turn
    ``response`` (the 500 Bolt is about to return) into the 503. Whether it did."""
    problem = unavailable(error)
    if problem is None:
        return False
    problem.log("A Slack request")
    answer = problem.bolt_response()
    response.status, response.body, response.headers = answer.status, answer.body, answer.headers
    setattr(response, ALREADY_LOGGED, True)
    return True
