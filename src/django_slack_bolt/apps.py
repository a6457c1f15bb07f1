from __future__ import annotations

from django.apps import AppConfig


class DjangoSlackBoltConfig(AppConfig):
    name = "django_slack_bolt"
    verbose_name = "Slack (Bolt)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
