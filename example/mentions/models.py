"""What the app remembers: every @-mention of the bot (written by the ``app_mention`` listener)."""

from __future__ import annotations

from django.db import models


class Mention(models.Model):
    """One message that mentioned the bot, in one of the workspaces the app is installed in."""

    # The workspace (Slack's team ID): the app serves every workspace that installed it.
    team_id = models.CharField(max_length=32, blank=True, default="")
    channel = models.CharField(max_length=32)
    # Slack's message timestamp: together with the channel, the message's id.
    ts = models.CharField(max_length=32)
    user = models.CharField(max_length=32)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Slack retries an event it thinks was lost: the listener must not store (or answer) it twice.
            models.UniqueConstraint(fields=["channel", "ts"], name="mention_unique_message"),
        ]

    def __str__(self) -> str:
        return f"<@{self.user}> in {self.channel} ({self.team_id}) at {self.ts}"
