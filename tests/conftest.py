from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from django.http import HttpRequest, HttpResponse

from .urls import REGISTERED_HANDLERS

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
