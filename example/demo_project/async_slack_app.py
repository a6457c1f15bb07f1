"""The Slack app of :mod:`demo_project.slack_app`, written for asyncio: an ``AsyncApp``, served under ASGI.

``DEMO_ASYNC=1`` makes ``settings.SLACK_BOLT["APP"]`` point here, and the project is then served by an
ASGI server (``uvicorn demo_project.asgi:application``; ``make demo-async`` does). django_slack_bolt's
URLs see an ``AsyncApp`` and serve it from async views.

``django_slack_bolt.build_async_app()`` makes the ``AsyncApp`` from the same ``settings.SLACK_BOLT`` as
``build_app()`` does: the same install page and OAuth callback, the same installations in the database,
the same per-workspace authorization and clean-up on uninstall. Only the listeners change: they are
``async def``, await ``ack``, ``say`` and ``respond`` (Bolt's async ones, on aiohttp), and use Django's
async ORM (``aget_or_create``, ``acount``). django_slack_bolt gives each listener a thread of its own for
those ORM calls, and closes its database connections when the listener ends.

Nothing in a listener may block the event loop: a slow sync call would hold up every other request the
server is answering. Wrap such calls in ``asgiref.sync.sync_to_async``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond, AsyncSay

from django_slack_bolt import build_async_app
from mentions.models import Mention

logger = logging.getLogger(__name__)

WAVE_BACK_ACTION = "wave_back"

# As with build_app(): importing this module calls nothing at Slack.
app = build_async_app()


# --- /hello: ack right away, do the slow part in a lazy listener ------------------------------------


async def ack_hello(ack: AsyncAck, command: dict[str, Any]) -> None:
    # Slack gives up after 3 seconds: nothing slow belongs here.
    await ack(f"Hi <@{command['user_id']}>! Posting a greeting in this channel...")


async def post_greeting(command: dict[str, Any], say: AsyncSay) -> None:
    # A lazy listener runs as a task of its own, after the ack has been sent.
    name = command.get("text", "").strip() or "everyone"
    text = f"Hello, {name}! <@{command['user_id']}> says hi from Django."
    await say(
        text=text,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "block_id": "greeting_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": WAVE_BACK_ACTION,
                        "text": {"type": "plain_text", "text": "Wave back"},
                        "value": command["user_id"],
                    }
                ],
            },
        ],
    )


app.command("/hello")(ack=ack_hello, lazy=[post_greeting])


# --- the button on the greeting --------------------------------------------------------------------


@app.action(WAVE_BACK_ACTION)
async def wave_back(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()  # Slack gets its 200 now; the listener goes on after it.
    await respond(
        replace_original=True,
        text=f":wave: <@{body['user']['id']}> waved back at <@{action['value']}>.",
    )


# --- @-mentions: store with the async ORM, reply in thread -----------------------------------------


@app.event("app_mention")
async def reply_to_mention(event: dict[str, Any], context: AsyncBoltContext, say: AsyncSay) -> None:
    text = event.get("text", "").replace(f"<@{context.bot_user_id}>", "").strip()
    # The async ORM: the query runs in a worker thread while the event loop serves other requests.
    mention, created = await Mention.objects.aget_or_create(
        channel=event["channel"],
        ts=event["ts"],
        defaults={"team_id": context.team_id or "", "user": event.get("user", ""), "text": text},
    )
    if not created:
        logger.info("Ignoring a retry of an event already handled: %s", mention)
        return
    count = await Mention.objects.filter(team_id=mention.team_id, channel=mention.channel).acount()
    await say(
        text=f"Noted, <@{mention.user}>! That is mention #{count} in this channel.",
        thread_ts=event.get("thread_ts") or event["ts"],
    )
