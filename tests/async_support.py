"""What the async tests share: a runner for ``async def`` tests, a signed-request poster, an app maker.

No pytest plugin is needed: :func:`async_test` runs the coroutine with asgiref's ``async_to_sync``, as
Django's own test runner does for ``async def`` test methods (an event loop of its own for each test,
thread-sensitive code such as the ORM back in the test's thread).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import async_to_sync
from django.test import AsyncClient
from slack_bolt.async_app import AsyncApp

from django_slack_bolt.testing import FakeSlack, RecordedCall, SlackRequest

from .apps.async_slack_app import authorize
from .support import SIGNING_SECRET

P = ParamSpec("P")
R = TypeVar("R")


def async_test(test: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an ``async def`` test (its fixtures as usual) in an event loop of its own."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return async_to_sync(test)(*args, **kwargs)

    return run


async def asend(client: AsyncClient, request: SlackRequest, path: str = "/slack/events") -> Any:
    """POST a built Slack request through Django's ``AsyncClient`` (the full async request path)."""
    return await client.post(
        path, data=request.body, content_type=request.content_type, headers=request.headers
    )


async def await_call(fake: FakeSlack, method: str, **kwargs: Any) -> RecordedCall:
    """``fake.wait_for_call`` without blocking the event loop the listeners run in."""
    return await asyncio.to_thread(fake.wait_for_call, method, **kwargs)


def make_async_app(**kwargs: Any) -> AsyncApp:
    """An AsyncApp with no Web API dependency: static authorization, the suite's signing secret."""
    kwargs.setdefault("signing_secret", SIGNING_SECRET)
    kwargs.setdefault("authorize", authorize)
    return AsyncApp(**kwargs)
