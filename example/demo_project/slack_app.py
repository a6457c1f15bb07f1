"""The Slack app: plain Bolt for Python, served by Django through django_slack_bolt.

``settings.SLACK_BOLT = {"APP": "demo_project.slack_app.app"}`` points the package at ``app`` below;
``path("slack/", include("django_slack_bolt.urls"))`` serves it at ``/slack/events``. Listeners are
ordinary Bolt listeners; they may use the ORM from Bolt's threads because django_slack_bolt closes
each thread's stale database connections around every listener.

What it does:

* ``/hello [name]``: answers at once (the ack), then a lazy listener posts a greeting with a button;
* the "Wave back" button: replaces the greeting through the response URL;
* ``@bot ...`` (``app_mention``): saves the mention with the ORM and replies in its thread.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from slack_bolt import Ack, App, BoltContext, Respond, Say

from mentions.models import Mention

logger = logging.getLogger(__name__)

WAVE_BACK_ACTION = "wave_back"


def _required_setting(name: str) -> str:
    value: str = getattr(settings, name)
    if not value:
        # Raised while Django loads the URLconf, so `manage.py check` and the first request both say it.
        raise ImproperlyConfigured(f"Set the {name} environment variable (see example/README.md).")
    return value


app = App(
    token=_required_setting("SLACK_BOT_TOKEN"),
    signing_secret=_required_setting("SLACK_SIGNING_SECRET"),
    # Importing this module (when Django loads the URLconf) must not call Slack. Bolt then checks the
    # token with auth.test on the first request each process serves, and caches the answer.
    token_verification_enabled=False,
)
# SLACK_API_URL can send the Web API calls elsewhere (the demo's fake Slack). Bolt builds each request's
# client, and so say(), from app.client, base URL included. (Passing App(client=WebClient(base_url=...))
# instead works too, but then Bolt warns "token will be unused" whenever SLACK_BOT_TOKEN is set.)
app.client.base_url = settings.SLACK_API_URL


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
    # Slack writes the mention as "<@BOT_USER_ID>"; keep only what was said to the bot.
    text = event.get("text", "").replace(f"<@{context.bot_user_id}>", "").strip()
    mention, created = Mention.objects.get_or_create(
        channel=event["channel"],
        ts=event["ts"],
        defaults={"user": event.get("user", ""), "text": text},
    )
    if not created:
        logger.info("Ignoring a retry of an event already handled: %s", mention)
        return
    count = Mention.objects.filter(channel=mention.channel).count()
    say(
        text=f"Noted, <@{mention.user}>! That is mention #{count} in this channel.",
        # Reply in the mention's thread (or start one on it) rather than in the channel.
        thread_ts=event.get("thread_ts") or event["ts"],
    )
