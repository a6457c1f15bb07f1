"""The async part's ``AsyncApp`` and async views (needs aiohttp, as every ``AsyncApp`` does).

:func:`build_async_app` has the same two listeners as :func:`project.posting_app.build_posting_app`,
written the async way; :func:`bare` and :func:`bare_call` are the async floors, the second one making
the same Web API call as the app's ``/bench-post`` listener, without Bolt.
"""

from __future__ import annotations

import os
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from . import common, environment
from .common import COMMAND, COMMAND_REPLY, POSTING_CHANNEL, POSTING_COMMAND, SIGNING_SECRET


async def authorize(
    enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: Any
) -> AuthorizeResult:
    return common.authorize(enterprise_id, team_id, user_id)


def build_async_app() -> AsyncApp:
    """``/bench`` acknowledges at once; ``/bench-post`` posts a message (to the fake Slack), then acks.

    Like Bolt's default client, the app's ``AsyncWebClient`` has no shared aiohttp session: every call
    opens a connection of its own, as the sync ``WebClient`` does.
    """
    app = AsyncApp(
        signing_secret=SIGNING_SECRET,
        authorize=authorize,
        client=AsyncWebClient(base_url=environment.web_api_url()),
    )

    @app.command(COMMAND)
    async def bench_command(ack: AsyncAck) -> None:
        await ack(COMMAND_REPLY)

    @app.command(POSTING_COMMAND)
    async def bench_posting_command(ack: AsyncAck, client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel=POSTING_CHANNEL, text="bench")
        await ack(COMMAND_REPLY)

    return app


def _async_exempt(view: Any) -> Any:
    # Django 4.2's csrf_exempt wraps in a sync function; Django must still see an async view.
    return markcoroutinefunction(csrf_exempt(view))


@_async_exempt
async def bare(request: HttpRequest) -> HttpResponse:
    # The async floor: Django's async request cycle and middleware, no Slack work at all.
    return HttpResponse("ok")


async def pid(request: HttpRequest) -> HttpResponse:
    # Which worker process answered: the bench waits until every worker has.
    return HttpResponse(str(os.getpid()))


_client = AsyncWebClient(base_url=environment.web_api_url(), token=common.BOT_TOKEN)


@_async_exempt
async def bare_call(request: HttpRequest) -> HttpResponse:
    # The same Web API call as /bench-post's listener, without Bolt: what the fake Slack and the
    # call itself allow, whatever the adapter.
    await _client.chat_postMessage(channel=POSTING_CHANNEL, text="bench")
    return HttpResponse("ok")
