"""The shipped migrations match the models, on every supported Django."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "django_slack_bolt", "--check", "--dry-run", stdout=out)
    except SystemExit:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"the models have changes without a migration:\n{out.getvalue()}")
