"""``manage.py slack_bolt_purge_states``: delete the OAuth states that have expired.

An expired state can no longer be consumed; the install page also purges them now and then (one
``issue()`` in a hundred), so this command is for a periodic job (cron) on busy or idle sites alike.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections

from ...oauth.state_store import DjangoOAuthStateStore


def _states(count: int) -> str:
    return f"{count} expired OAuth state{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = "Delete the expired OAuth states of the install page (--dry-run counts them only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the expired states; delete nothing."
        )
        parser.add_argument(
            "--database",
            choices=tuple(connections),
            default=None,
            help="The database alias to purge (default: where the database routers write OAuth states).",
        )

    def handle(self, *args: Any, dry_run: bool, database: str | None, **options: Any) -> None:
        store = DjangoOAuthStateStore(database=database)
        if dry_run:
            self.stdout.write(f"{_states(store.expired().count())} would be deleted (dry run).")
        else:
            self.stdout.write(f"Deleted {_states(store.purge_expired())}.")
