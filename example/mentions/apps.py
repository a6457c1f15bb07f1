from __future__ import annotations

from django.apps import AppConfig


class MentionsConfig(AppConfig):
    name = "mentions"
    verbose_name = "Mentions of the bot"
    default_auto_field = "django.db.models.BigAutoField"
