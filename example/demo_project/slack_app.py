"""The Slack app: plain Bolt for Python listeners on a multi-workspace app, served by Django.

``django_slack_bolt.build_app()`` makes the ``App`` from ``settings.SLACK_BOLT``: the "Add to Slack"
page and the OAuth callback (``/slack/install``, ``/slack/oauth_redirect``), installations stored with the
ORM (tokens encrypted), every request authorized with the token of the workspace it comes from (read from
the installation, so no ``auth.test`` call per request), and the installation deleted when a workspace
uninstalls the app. ``settings.SLACK_BOLT["APP"]`` points the package's URLs at ``app`` below.

Listeners are ordinary Bolt listeners; ``say``, ``respond`` and ``client`` carry the right workspace's
token by themselves. They may use the ORM from Bolt's threads because django_slack_bolt closes each
thread's stale database connections around every listener.

What it does:

* ``/hello [name]``: answers at once (the ack), then a lazy listener posts a greeting with a button;
* the "Wave back" button: replaces the greeting through the response URL;
* ``@bot ...`` (``app_mention``): saves the mention with the ORM and replies in its thread.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext, Respond, Say

from django_slack_bolt import build_app
from mentions.models import Mention

logger = logging.getLogger(__name__)

WAVE_BACK_ACTION = "wave_back"

# Importing this module (when Django loads the URLconf) calls nothing at Slack: a multi-workspace app has
# no token of its own to check, only the installations in the database.
app = build_app()


# --- /hello: ack right away, do the slow part in a lazy listener ------------------------------------


def ack_hello(ack: Ack, command: dict[str, Any]) -> None:
    # Slack shows this only to the user who typed the command, and gives up after 3 seconds:
    # nothing slow belongs here.
    ack(f"Hi <@{command['user_id']}>! Posting a greeting in this channel...")


def post_greeting(command: dict[str, Any], say: Say) -> None:
    # A lazy listener runs in a Bolt thread after the ack has been sent, so it may take its time.
    name = command.get("text", "").strip() or "everyone"
    text = f"Hello, {name}! <@{command['user_id']}> says hi from Django."
    say(
        text=text,  # the notification text, and what clients without blocks show
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
def wave_back(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
    ack()  # Slack gets its 200 now; respond() below goes out afterwards, from this thread.
    # The response URL edits the message that carried the button: no chat:write scope, no channel id.
    respond(
        replace_original=True,
        text=f":wave: <@{body['user']['id']}> waved back at <@{action['value']}>.",
    )


# --- @-mentions: store with the ORM, reply in thread -----------------------------------------------


@app.event("app_mention")
def reply_to_mention(event: dict[str, Any], context: BoltContext, say: Say) -> None:
    # Bolt has already acknowledged the event; this runs in one of its threads.
    # Slack writes the mention as "<@BOT_USER_ID>", the bot user of this workspace's installation;
    # keep only what was said to the bot.
    text = event.get("text", "").replace(f"<@{context.bot_user_id}>", "").strip()
    mention, created = Mention.objects.get_or_create(
        channel=event["channel"],
        ts=event["ts"],
        defaults={"team_id": context.team_id or "", "user": event.get("user", ""), "text": text},
    )
    if not created:
        logger.info("Ignoring a retry of an event already handled: %s", mention)
        return
    count = Mention.objects.filter(team_id=mention.team_id, channel=mention.channel).count()
    say(
        text=f"Noted, <@{mention.user}>! That is mention #{count} in this channel.",
        # Reply in the mention's thread (or start one on it) rather than in the channel.
        thread_ts=event.get("thread_ts") or event["ts"],
    )
