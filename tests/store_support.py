"""Shared by the tests of the ORM stores: the database aliases they run on, and sample installations.

Every store test takes a ``database`` argument parametrized with :func:`databases`: ``"default"``
(SQLite) always, ``"postgres"`` when DJANGO_SLACK_BOLT_TEST_POSTGRES names a server (skipped
otherwise). Each parameter carries its own ``django_db`` mark, so a test function must not add one.
"""

from __future__ import annotations

import shutil
from glob import glob
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt.management.commands.slack_bolt_reencrypt_tokens import TOKEN_COLUMNS
from django_slack_bolt.models import SlackBot, SlackInstallation, SlackOAuthState

NO_POSTGRES = (
    "no PostgreSQL server: set DJANGO_SLACK_BOLT_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB "
    "(scripts/postgres.sh start && export DJANGO_SLACK_BOLT_TEST_POSTGRES=$(scripts/postgres.sh url))"
)
HAS_POSTGRES = "postgres" in settings.DATABASES

# Token texts that must never show in a column, a dump, a repr or a log line: Slack's prefixes, with
# the character that follows "xoxe" in refresh tokens (xoxe-1-...) and rotating tokens (xoxe.xoxb-...).
# A bare "xoxe" shows up by chance in about one Fernet ciphertext in 10^5; "." is not base64 at all.
TOKEN_MARKERS = ("xoxb-", "xoxp-", "xoxe-", "xoxe.")


def token_texts_in(text: str) -> list[str]:
    """The token markers found in ``text`` (an empty list is the expected answer)."""
    return [marker for marker in TOKEN_MARKERS if marker in text]


def databases(*, transaction: bool = False) -> list[Any]:
    """``database`` parameters: SQLite, and PostgreSQL when configured, each with its django_db mark."""
    return [
        pytest.param("default", marks=pytest.mark.django_db(transaction=transaction), id="sqlite"),
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not HAS_POSTGRES, reason=NO_POSTGRES),
                pytest.mark.django_db(transaction=transaction, databases=["default", "postgres"]),
            ],
            id="postgres",
        ),
    ]


def find_pg_dump() -> str | None:
    """A pg_dump binary: PATH first, then Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(
        glob("/usr/lib/postgresql/*/bin/pg_dump"),
        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else -1,
    )
    return candidates[-1] if candidates else None


def installation(**overrides: Any) -> Installation:
    """A workspace installation by U111 with a bot and a user token (E111/T111 unless overridden)."""
    fields: dict[str, Any] = {
        "app_id": "A111",
        "enterprise_id": "E111",
        "enterprise_name": "Acme Grid",
        "team_id": "T111",
        "team_name": "Acme",
        "user_id": "U111",
        "bot_id": "B111",
        "bot_user_id": "UB111",
        "bot_token": "xoxb-111",
        "bot_scopes": ["chat:write", "commands"],
        "user_token": "xoxp-111",
        "user_scopes": ["search:read"],
        "token_type": "bot",
    }
    fields.update(overrides)
    return Installation(**fields)


def org_installation(**overrides: Any) -> Installation:
    """An org-wide (Enterprise Grid) installation: no team, ``is_enterprise_install``."""
    fields: dict[str, Any] = {
        "app_id": "AO111",
        "enterprise_id": "EO111",
        "enterprise_name": "Org",
        "enterprise_url": "https://org.enterprise.slack.com/",
        "team_id": None,
        "team_name": None,
        "user_id": "UO111",
        "bot_id": "BO111",
        "bot_user_id": "UO222",
        "bot_token": "xoxb-O111",
        "bot_scopes": ["chat:write"],
        "is_enterprise_install": True,
    }
    fields.update(overrides)
    return installation(**fields)


def raw_tokens(alias: str) -> dict[tuple[str, int, str], str]:
    """Every stored token column as the database holds it, read with SQL: {(table, pk, column): text}."""
    connection = connections[alias]
    found: dict[tuple[str, int, str], str] = {}
    with connection.cursor() as cursor:
        for model, columns in TOKEN_COLUMNS.items():
            table = model._meta.db_table
            names = ", ".join(connection.ops.quote_name(column) for column in columns)
            cursor.execute(f"SELECT id, {names} FROM {connection.ops.quote_name(table)}")
            for pk, *values in cursor.fetchall():
                for column, value in zip(columns, values, strict=True):
                    if value is not None:
                        found[(table, pk, column)] = value
    return found


def raw_rows(alias: str) -> str:
    """Every row of the package's tables, as text (what a look at the database shows)."""
    connection = connections[alias]
    lines: list[str] = []
    with connection.cursor() as cursor:
        for model in (SlackInstallation, SlackBot, SlackOAuthState):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            lines.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(lines)
