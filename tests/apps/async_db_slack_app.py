"""The AsyncApps that tests/test_async_connection_hygiene.py serves under uvicorn, on PostgreSQL.

Their listeners and lazy listeners query the database every way an async listener can: Django's async
ORM (``aget``, ``acreate``, ``aexists``, ``async for``) and sync ORM code, a transaction included,
through ``sync_to_async``. Each run leaves one ``Group`` row named ``<kind>:<command text>``, which is
how the test knows that every listener ran its queries, and finished.

``app`` is served by django_slack_bolt (``SLACK_BOLT["APP"]``); ``naive_app``, the control, is a plain
AsyncApp served by the async view a project would write without this package (tests/apps/async_db_urls.py).
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import transaction
from slack_bolt.async_app import AsyncApp

from tests.apps.async_slack_app import authorize
from tests.apps.slack_app import SIGNING_SECRET

# How many rows (listener runs) each command leaves.
ROWS_PER_COMMAND = {"/async-orm": 1, "/sync-orm": 1, "/lazy-orm": 2}

# What a listener waits for between its queries, as for a Web API call: its later queries run after
# Slack has its answer and Django is done with the request.
PAUSE = 0.02


async def with_async_orm(kind: str, text: str) -> None:
    """Django's async ORM: each query goes through a thread-sensitive sync_to_async."""
    name = f"{kind}:{text}"
    assert not await Group.objects.filter(name=name).aexists()
    await asyncio.sleep(PAUSE)
    async for _group in Group.objects.order_by("-id")[:3]:
        pass
    await Group.objects.acreate(name=name)
    assert (await Group.objects.aget(name=name)).name == name


def not_there_yet(name: str) -> bool:
    return not Group.objects.filter(name=name).exists()


def create_in_a_transaction(name: str) -> None:
    with transaction.atomic():
        Group.objects.create(name=name)
        assert Group.objects.filter(name=name).count() == 1


async def with_sync_orm(kind: str, text: str) -> None:
    """Sync ORM code, a transaction included, called through sync_to_async."""
    name = f"{kind}:{text}"
    assert await sync_to_async(not_there_yet)(name)
    await asyncio.sleep(PAUSE)
    await sync_to_async(create_in_a_transaction)(name)


async def async_orm(ack, command):  # type: ignore[no-untyped-def]
    await ack("ok")
    await with_async_orm("async", command["text"])


async def sync_orm(ack, command):  # type: ignore[no-untyped-def]
    await ack("ok")
    await with_sync_orm("sync", command["text"])


async def queue(ack):  # type: ignore[no-untyped-def]
    await ack("queued")


async def lazy_async_orm(command):  # type: ignore[no-untyped-def]
    await with_async_orm("lazy-async", command["text"])


async def lazy_sync_orm(command):  # type: ignore[no-untyped-def]
    await with_sync_orm("lazy-sync", command["text"])


def build_app() -> AsyncApp:
    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize)
    app.command("/async-orm")(async_orm)
    app.command("/sync-orm")(sync_orm)
    app.command("/lazy-orm")(ack=queue, lazy=[lazy_async_orm, lazy_sync_orm])
    return app


app = build_app()
naive_app = build_app()
