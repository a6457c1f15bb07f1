"""Database-connection hygiene for the threads and tasks that run listeners.

Django closes stale connections only in the threads that serve requests (``request_started`` and
``request_finished``); Bolt runs listeners and lazy listeners elsewhere: in its executor's threads for
an ``App``, in tasks that outlive the request for an ``AsyncApp``. The handlers call these around each
listener, so connections honour ``CONN_MAX_AGE`` there too and never pile up.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar, Token
from logging import Logger
from threading import current_thread

from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.db import close_old_connections, connections

__all__ = [
    "ListenerOrmThread",
    "arelease_thread_local_connections",
    "close_thread_connections",
    "release_thread_local_connections",
]


def release_thread_local_connections(logger: Logger, execution_timing: str) -> None:
    """Close the calling thread's stale database connections.

    Django only cleans up connections in the threads that serve requests; Bolt runs listeners in its
    own executor threads. ``close_old_connections`` (not ``connections.close_all``) honours
    ``CONN_MAX_AGE`` and closes connections that are unusable or past their age.
    """
    close_old_connections()
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Released thread-bound old DB connections "
            f"(thread name: {current_thread().name}, execution timing: {execution_timing})"
        )


async def arelease_thread_local_connections(logger: Logger, execution_timing: str) -> None:
    """:func:`release_thread_local_connections`, from async code.

    Runs in the thread that the caller's thread-sensitive ``sync_to_async`` calls (the async ORM
    included) run in, and closes the connections that thread holds once they are past
    ``CONN_MAX_AGE`` or unusable. For a custom completion handler: the ones installed by
    :class:`AsyncSlackRequestHandler` give each listener an ORM thread of its own instead.
    """
    await sync_to_async(release_thread_local_connections)(logger, execution_timing)


class ListenerOrmThread:
    """A thread of its own for one listener's thread-sensitive sync code (the ORM), as Django gives one
    to each request; ended, with its database connections closed, when the listener ends.

    Why: listeners and lazy listeners outlive the request they came with, and inherit its
    thread-sensitive context. Once Django is done with the request asgiref retires that context's
    thread, and the ORM calls a listener makes later get a new thread that only the garbage collector
    ends; a completion handler's ``close_old_connections()`` may run in either. Connections left in
    those threads stay open until the collector gets to them, and pile up under load (the figures are
    in tests/test_async_connection_hygiene.py). Here the thread and its connections belong to the
    listener, and end with it.

    :meth:`start` makes the calling task's thread-sensitive calls run in a thread of their own (created
    by asgiref on the first such call: a listener that runs no sync code costs no thread); :meth:`end`,
    awaited in the same task, closes every connection of that thread and lets the thread exit. Closing
    them all, not only those past ``CONN_MAX_AGE``, is right here: a connection kept for a thread that
    ends could never be used again. With Django's connection pool (``"OPTIONS": {"pool": True}`` on
    PostgreSQL, Django 5.1+) closing returns it to the pool.

    Where an outer sync thread runs the event loop's thread-sensitive code (``async_to_sync``, as in
    Django's test runner and ``AsyncClient`` tests), asgiref sends those calls to that thread as always:
    its connections are its owner's, and :meth:`end` leaves them alone.

    This sets asgiref's context variable the way ``ThreadSensitiveContext`` does: entering a
    ``ThreadSensitiveContext()`` inside the request's would reuse the request's.
    """

    def __init__(self) -> None:
        self._context = ThreadSensitiveContext()
        self._token: Token[ThreadSensitiveContext] | None = None

    @classmethod
    def start(cls) -> ListenerOrmThread:
        """Until :meth:`end`, run the calling task's thread-sensitive calls in a thread of their own."""
        orm_thread = cls()
        orm_thread._token = SyncToAsync.thread_sensitive_context.set(orm_thread._context)
        _current_orm_thread.set(orm_thread)
        return orm_thread

    @classmethod
    def current(cls) -> ListenerOrmThread | None:
        """The one :meth:`start` set in the calling task (``None`` if none, or if it has ended)."""
        return _current_orm_thread.get()

    async def end(self, logger: Logger, execution_timing: str) -> None:
        """Close the connections of this listener's thread and let it exit; from the task that started it."""
        if self._token is None:
            return
        executor = SyncToAsync.context_to_thread_executor.pop(self._context, None)
        SyncToAsync.thread_sensitive_context.reset(self._token)
        self._token = None
        if _current_orm_thread.get() is self:
            _current_orm_thread.set(None)
        if executor is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "No DB connections to close: the listener ran no sync code in a thread of its own "
                    f"(execution timing: {execution_timing})"
                )
            return
        try:
            await asyncio.wrap_future(executor.submit(close_thread_connections, logger, execution_timing))
        finally:
            executor.shutdown(wait=False)


# The ListenerOrmThread a task started (a context variable: each task sees its own).
_current_orm_thread: ContextVar[ListenerOrmThread | None] = ContextVar(
    "django_slack_bolt_listener_orm_thread", default=None
)


def close_thread_connections(logger: Logger, execution_timing: str) -> None:
    """Close every database connection of the calling thread, which is about to end.

    Unlike :func:`release_thread_local_connections` it ignores
    ``CONN_MAX_AGE``: no later work will run in this thread to reuse them.
    """
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:
            logger.warning("Could not close the %r database connection", connection.alias, exc_info=True)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Closed the DB connections of a listener's thread "
            f"(thread name: {current_thread().name}, execution timing: {execution_timing})"
        )
