"""``manage.py slack_bolt_reencrypt_tokens``: every stored token re-encrypted under the first key.

Step two of a key rotation: put the new key first in ``SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"]`` (keep the
old one after it) and deploy, run this command, then remove the old key. Tokens are read as stored
(ciphertext), re-encrypted with :func:`~django_slack_bolt.oauth.encryption.reencrypt` and written back, in
batches of rows, each batch in one transaction whose rows are locked (``SELECT ... FOR UPDATE`` where
the database has it) so that a token rotated meanwhile by the app is never overwritten with the old one.

Running it again changes nothing: tokens already under the first key are left as they are. A token
that no configured key opens stops the command with the row's primary key; the batch holding it is
left unchanged (the batches before it are done: fix the keys and run it again).
"""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, models, router, transaction
from django.db.models.functions import Cast

from ...exceptions import SlackBoltImproperlyConfigured
from ...oauth.encryption import SETTING, get_fernet, is_under_first_key, reencrypt
from ...oauth.models import SlackBot, SlackInstallation

# Every encrypted column, per model.
TOKEN_COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    SlackInstallation: ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    SlackBot: ("bot_token", "bot_refresh_token"),
}
DEFAULT_BATCH_SIZE = 500


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Tally:
    rows: int = 0
    reencrypted: int = 0
    current: int = 0  # already under the first key


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Slack token (installations and bots) under the first key of "
        "SLACK_BOLT['TOKEN_ENCRYPTION_KEYS']; run it after putting a new key first, before removing "
        "the old one."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--database",
            choices=tuple(connections),
            default=None,
            help="The database alias (default: where the database routers write installations).",
        )
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, database: str | None, batch_size: int, **options: Any) -> None:
        try:
            get_fernet()
        except SlackBoltImproperlyConfigured as e:
            raise CommandError(str(e)) from e
        for model, columns in TOKEN_COLUMNS.items():
            alias = database or router.db_for_write(model)
            tally = self._reencrypt_table(model, columns, alias, batch_size)
            self.stdout.write(
                f"{model._meta.verbose_name_plural}: {_plural(tally.reencrypted, 'token')} re-encrypted "
                f"in {_plural(tally.rows, 'row')}, {tally.current} already under the first key."
            )

    def _reencrypt_table(
        self, model: type[models.Model], columns: tuple[str, ...], alias: str, batch_size: int
    ) -> Tally:
        tally = Tally()
        # Cast to text: the column as stored, not decrypted by EncryptedTokenField.from_db_value.
        raw = [Cast(column, output_field=models.TextField()) for column in columns]
        rows = model._default_manager.using(alias).order_by("pk")
        last_pk: Any = None
        while True:
            with transaction.atomic(using=alias):
                batch = rows if last_pk is None else rows.filter(pk__gt=last_pk)
                found = list(batch.select_for_update().values_list("pk", *raw)[:batch_size])
                if not found:
                    return tally
                updates = [self._updates(model, row, columns, tally) for row in found]
                for (pk, *_), changes in zip(found, updates, strict=True):
                    if changes:
                        model._default_manager.using(alias).filter(pk=pk).update(**changes)
                        tally.rows += 1
            last_pk = found[-1][0]

    def _updates(
        self, model: type[models.Model], row: tuple[Any, ...], columns: tuple[str, ...], tally: Tally
    ) -> dict[str, models.Value]:
        """The re-encrypted columns of one row (computed before the batch writes anything)."""
        pk, *ciphertexts = row
        changes: dict[str, models.Value] = {}
        for column, ciphertext in zip(columns, ciphertexts, strict=True):
            if ciphertext is None:
                continue
            if is_under_first_key(ciphertext):
                tally.current += 1
                continue
            try:
                new = reencrypt(ciphertext)
            except SlackBoltImproperlyConfigured as e:
                raise CommandError(
                    f"{model._meta.verbose_name} pk={pk}: its {column} cannot be decrypted with any key in "
                    f"{SETTING}. Add the key it was encrypted with (after the first) and run the command "
                    "again. The batch holding this row was left unchanged "
                    f"({_plural(tally.rows, 'row')} of this table re-encrypted before it)."
                ) from e
            # A Value of a plain TextField: written as given, not encrypted a second time by the field.
            changes[column] = models.Value(new, output_field=models.TextField())
            tally.reencrypted += 1
        return changes
