"""What the async tests share: a runner for ``async def`` tests, a signed-request poster, an app maker.

No pytest plugin is needed: :func:`async_test` runs the coroutine with asgiref's ``async_to_sync``, as
Django's own test runner does for ``async def`` test methods (an event loop of its own for each test,
thread-sensitive code such as the ORM back in the test's thread).
"""

from __future__ import annotations

import asyncio
import functools
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
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


_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def uvicorn_process(env: Mapping[str, str]) -> Iterator[tuple[str, list[str], subprocess.Popen[str]]]:
    """uvicorn serving ``tests.apps.async_asgi`` on a free port of 127.0.0.1, in a process of its own.

    Yields its base URL, the list its stderr lines are collected in, and the process; stops it after.
    """
    pytest.importorskip("uvicorn", reason="the ASGI tests serve the project with uvicorn")
    command = [sys.executable, "-m", "uvicorn", "tests.apps.async_asgi:application"]
    command += ["--host", "127.0.0.1", "--port", "0", "--lifespan", "off", "--no-access-log"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    port: list[int] = []
    listening = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            found = _LISTENING.search(line)
            if found and not port:
                port.append(int(found.group(1)))
                listening.set()
        listening.set()  # the process ended

    reader = threading.Thread(target=read_stderr, name="uvicorn-stderr", daemon=True)
    reader.start()
    try:
        listening.wait(60)
        if not port:
            pytest.fail("uvicorn did not start:\n" + "".join(log))
        yield f"http://127.0.0.1:{port[0]}", log, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        reader.join(timeout=15)
        if process.stderr is not None:
            process.stderr.close()
