from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse

from .urls import REGISTERED_ASYNC_HANDLERS, REGISTERED_HANDLERS

_keys = itertools.count()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[HttpRequest], HttpResponse]], str]]:
    """Serve a handler's ``handle`` at a URL of the test URLconf; returns the URL path."""
    keys: list[str] = []

    def register(handle: Callable[[HttpRequest], HttpResponse]) -> str:
        key = f"h{next(_keys)}"
        REGISTERED_HANDLERS[key] = handle
        keys.append(key)
        return f"/registered/{key}/events"

    yield register
    for key in keys:
        REGISTERED_HANDLERS.pop(key, None)


@pytest.fixture
def aserve() -> Iterator[Callable[[Callable[[HttpRequest], Awaitable[HttpResponse]]], str]]:
    """Serve an async handler's ``handle`` from an async view of the test URLconf; returns the URL path."""
    keys: list[str] = []

    def register(handle: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> str:
        key = f"a{next(_keys)}"
        REGISTERED_ASYNC_HANDLERS[key] = handle
        keys.append(key)
        return f"/registered-async/{key}/events"

    yield register
    for key in keys:
        REGISTERED_ASYNC_HANDLERS.pop(key, None)


@pytest.fixture
def allow_replays(settings: Any) -> None:
    """For tests that send the very same signed request to several handlers, to compare their answers:
    the replay guard would (rightly) run only the first."""
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "REFUSE_REPLAYS": False}
