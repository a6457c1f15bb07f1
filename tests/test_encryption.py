"""Tokens at rest: ciphertext in every column and every dump, plain text only in memory.

Checked where a token could leak: the columns read with raw SQL, ``dumpdata``, ``pg_dump`` (on
PostgreSQL), model and store reprs, and every log line written while saving and reading (Django's SQL
log included, whose parameters would show a token encrypted too late). Keys: a wrong key fails with an
error naming the setting; a new key put first still reads the rows of the old one (MultiFernet).
"""

from __future__ import annotations

import json
import logging
import subprocess
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connections
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from django_slack_bolt.exceptions import SlackBoltImproperlyConfigured
from django_slack_bolt.models import SlackBot, SlackInstallation
from django_slack_bolt.oauth import encryption
from django_slack_bolt.oauth.encryption import SEALED_PREFIX, EncryptedTokenField
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.oauth.state_store import DjangoOAuthStateStore

from .settings import TEST_TOKEN_KEY
from .store_support import databases, find_pg_dump, installation, raw_rows, raw_tokens, token_texts_in

CLIENT_ID = "111.222"
TOKENS = {
    "bot_token": "xoxe.xoxb-1-bot-secret",
    "bot_refresh_token": "xoxe-1-bot-refresh-secret",
    "user_token": "xoxp-2-user-secret",
    "user_refresh_token": "xoxe-1-user-refresh-secret",
}
NEW_KEY = Fernet.generate_key().decode()


def use_keys(settings, *keys: str) -> None:  # type: ignore[no-untyped-def]
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "TOKEN_ENCRYPTION_KEYS": list(keys)}


def save_sample(store: DjangoInstallationStore, **overrides: object) -> None:
    store.save(installation(**{**TOKENS, "bot_token_expires_in": 3600, **overrides}))
    store.save(installation(team_id="T222", bot_token="xoxb-3-other-bot", user_token=None))


@pytest.mark.parametrize("database", databases())
def test_columns_hold_ciphertext_only(database):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    save_sample(store)

    assert token_texts_in(raw_rows(database)) == []
    stored = raw_tokens(database)
    assert len(stored) == 4 + 1 + 2 + 1  # two installations (4 + 1 tokens), their two bots (2 + 1)
    for ciphertext in stored.values():
        assert ciphertext.startswith("gAAAAA")  # a Fernet token
        assert Fernet(TEST_TOKEN_KEY).decrypt(ciphertext.encode())
    # ... and the store reads the tokens back.
    found = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert {name: getattr(found, name) for name in TOKENS} == TOKENS


@pytest.mark.parametrize("database", databases())
def test_dumpdata_shows_no_token_and_loaddata_restores_them(database, tmp_path):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    save_sample(store)

    out = StringIO()
    call_command("dumpdata", "django_slack_bolt", database=database, indent=2, stdout=out)
    dump = out.getvalue()
    assert token_texts_in(dump) == []
    objects = json.loads(dump)
    sealed = [obj["fields"]["bot_token"] for obj in objects if obj["model"] == "django_slack_bolt.slackbot"]
    assert len(sealed) == 2
    assert all(value.startswith(SEALED_PREFIX + "gAAAAA") for value in sealed)

    fixture = tmp_path / "slack.json"
    fixture.write_text(dump)
    SlackInstallation.objects.using(database).all().delete()
    SlackBot.objects.using(database).all().delete()
    call_command("loaddata", str(fixture), database=database, verbosity=0)

    found = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert {name: getattr(found, name) for name in TOKENS} == TOKENS
    assert store.find_bot(enterprise_id="E111", team_id="T222").bot_token == "xoxb-3-other-bot"
    assert token_texts_in(raw_rows(database)) == []  # loaded sealed, stored encrypted once


@pytest.mark.postgres
@pytest.mark.parametrize("database", [p for p in databases(transaction=True) if p.id == "postgres"])
def test_pg_dump_shows_no_token(database):
    pg_dump = find_pg_dump()
    if pg_dump is None:
        pytest.skip("no pg_dump binary (apt-get install postgresql-client)")
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    save_sample(store)
    db = connections[database].settings_dict
    command = [pg_dump, "--data-only", "--table", "django_slack_bolt_*", "--dbname", db["NAME"]]
    command += ["--host", db["HOST"], "--port", str(db["PORT"]), "--username", db["USER"]]
    dumped = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PGPASSWORD": db["PASSWORD"] or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "gAAAAA" in dumped  # the rows are in the dump ...
    assert token_texts_in(dumped) == []  # ... and no token


@pytest.mark.parametrize("database", databases())
def test_a_wrong_key_fails_naming_the_setting(database, settings):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    save_sample(store)
    use_keys(settings, NEW_KEY)

    for find in (
        lambda: store.find_installation(enterprise_id="E111", team_id="T111"),
        lambda: store.find_bot(enterprise_id="E111", team_id="T111"),
    ):
        with pytest.raises(SlackBoltImproperlyConfigured, match=r'SLACK_BOLT\["TOKEN_ENCRYPTION_KEYS"\]'):
            find()


@pytest.mark.parametrize("database", databases())
def test_a_new_first_key_still_reads_the_old_rows(database, settings):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    save_sample(store)
    use_keys(settings, NEW_KEY, TEST_TOKEN_KEY)

    found = store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
    assert {name: getattr(found, name) for name in TOKENS} == TOKENS
    # New writes use the first key only.
    store.save(installation(team_id="T333", bot_token="xoxb-4-new-key"))
    row = SlackBot.objects.using(database).get(team_id="T333")
    ciphertext = raw_tokens(database)[(SlackBot._meta.db_table, row.pk, "bot_token")]
    assert Fernet(NEW_KEY).decrypt(ciphertext.encode()) == b"xoxb-4-new-key"

    use_keys(settings, NEW_KEY)  # the old key gone before re-encrypting: old rows cannot be read
    assert store.find_bot(enterprise_id="E111", team_id="T333").bot_token == "xoxb-4-new-key"
    with pytest.raises(SlackBoltImproperlyConfigured):
        store.find_bot(enterprise_id="E111", team_id="T111")


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ([], "is empty"),
        (TEST_TOKEN_KEY, "must be a list"),
        (["not a key"], r"\[0\] is not a Fernet key"),
        ([TEST_TOKEN_KEY, "short"], r"\[1\] is not a Fernet key"),
    ],
)
def test_unusable_keys_are_refused_with_a_hint(settings, keys, problem):
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "TOKEN_ENCRYPTION_KEYS": keys}
    with pytest.raises(SlackBoltImproperlyConfigured, match=problem) as raised:
        encryption.encrypt_token("xoxb-1")
    assert "TOKEN_ENCRYPTION_KEYS" in str(raised.value)
    assert "Fernet.generate_key()" in str(raised.value)


@pytest.mark.parametrize("database", databases())
def test_reprs_strs_and_logs_show_no_token(database, caplog):
    store = DjangoInstallationStore(CLIENT_ID, database=database, logger=logging.getLogger("test.store"))
    caplog.set_level(logging.DEBUG)  # every logger ...
    caplog.set_level(logging.DEBUG, logger="django")  # ... Django's SQL log included (INFO by default)
    with CaptureQueriesContext(connections[database]) as queries:
        save_sample(store)
        store.save_bot(installation(team_id="T444", bot_token="xoxb-5-saved-bot").to_bot())
        store.find_installation(enterprise_id="E111", team_id="T111", user_id="U111")
        store.find_bot(enterprise_id="E111", team_id="T111")
        store.delete_all(enterprise_id="E111", team_id="T444")
    assert any("django_slack_bolt" in record.getMessage() for record in caplog.records)  # SQL was logged
    logged = "\n".join(record.getMessage() for record in caplog.records)
    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    assert token_texts_in(logged) == []
    assert token_texts_in(sql) == []

    rows = [*SlackInstallation.objects.using(database).all(), *SlackBot.objects.using(database).all()]
    texts = [repr(store), str(store), repr(DjangoOAuthStateStore(database=database))]
    texts += [text for row in rows for text in (repr(row), str(row))]
    texts += [repr(model_to_dict(row)) for row in rows]  # what a ModelForm (the admin) would show
    for text in texts:
        assert token_texts_in(text) == [], text
        assert not any(token in text for token in TOKENS.values()), text


@pytest.mark.django_db
def test_a_sealed_value_is_unsealed_not_encrypted_twice():
    store = DjangoInstallationStore(CLIENT_ID, database="default")
    store.save(installation(**TOKENS))
    row = SlackInstallation.objects.get()
    field = SlackInstallation._meta.get_field("bot_token")
    assert isinstance(field, EncryptedTokenField)
    sealed = field.value_from_object(row)
    assert sealed.startswith(SEALED_PREFIX)
    assert field.to_python(sealed) == TOKENS["bot_token"]

    row.user_token = field.value_from_object(row)  # a sealed value assigned, as a form would
    row.save()
    row.refresh_from_db()
    assert row.user_token == TOKENS["bot_token"]
    assert field.to_python("xoxb-plain") == "xoxb-plain"
    assert field.to_python(None) is None


@pytest.mark.django_db
def test_empty_tokens_are_stored_as_null():
    store = DjangoInstallationStore(CLIENT_ID, database="default")
    store.save(installation(user_token="", bot_refresh_token=""))
    row = SlackInstallation.objects.get()
    assert (row.user_token, row.bot_refresh_token) == (None, None)
    assert SlackInstallation.objects.filter(user_token__isnull=True).count() == 1


@pytest.mark.django_db
def test_migrations_are_in_sync_with_the_models():
    call_command("makemigrations", "django_slack_bolt", "--check", "--dry-run", stdout=StringIO())
