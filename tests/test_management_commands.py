"""The management commands, through call_command, on SQLite and PostgreSQL.

The key rotation is proven end to end: rows written under the old key, a new key put first, the
command run, the old key removed, and every token still read back; the stored ciphertexts all changed.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from django_slack_bolt.models import SlackBot, SlackInstallation, SlackOAuthState
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.oauth.state_store import DjangoOAuthStateStore

from .settings import TEST_TOKEN_KEY
from .store_support import HAS_POSTGRES, databases, installation, raw_tokens

CLIENT_ID = "111.222"
NEW_KEY = Fernet.generate_key().decode()
LOST_KEY = Fernet.generate_key().decode()


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def use_keys(settings, *keys: str) -> None:  # type: ignore[no-untyped-def]
    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "TOKEN_ENCRYPTION_KEYS": list(keys)}


# -- slack_bolt_purge_states ----------------------------------------------------------------------


def issue(database: str, *, expired: int, fresh: int) -> set[str]:
    store = DjangoOAuthStateStore(database=database)
    states = [store.issue() for _ in range(expired + fresh)]
    SlackOAuthState.objects.using(database).filter(state__in=states[:expired]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return set(states[expired:])


@pytest.mark.parametrize("database", databases())
def test_purge_states(database):
    fresh = issue(database, expired=3, fresh=2)

    assert run("slack_bolt_purge_states", "--dry-run", "--database", database) == (
        "3 expired OAuth states would be deleted (dry run).\n"
    )
    assert SlackOAuthState.objects.using(database).count() == 5

    assert run("slack_bolt_purge_states", "--database", database) == "Deleted 3 expired OAuth states.\n"
    assert set(SlackOAuthState.objects.using(database).values_list("state", flat=True)) == fresh
    assert run("slack_bolt_purge_states", "--database", database) == "Deleted 0 expired OAuth states.\n"


@pytest.mark.django_db
def test_purge_states_defaults_to_the_routers_database():
    issue("default", expired=1, fresh=0)
    assert run("slack_bolt_purge_states") == "Deleted 1 expired OAuth state.\n"


@pytest.mark.postgres
@pytest.mark.skipif(not HAS_POSTGRES, reason="no PostgreSQL server")
@pytest.mark.django_db(databases=["default", "postgres"])
def test_purge_states_touches_only_the_database_named():
    issue("default", expired=2, fresh=0)
    issue("postgres", expired=1, fresh=0)
    assert run("slack_bolt_purge_states", "--database", "postgres") == "Deleted 1 expired OAuth state.\n"
    assert SlackOAuthState.objects.using("default").count() == 2


def test_purge_states_refuses_an_unknown_database():
    with pytest.raises(CommandError, match="invalid choice: 'nope'"):
        run("slack_bolt_purge_states", "--database", "nope")


# -- slack_bolt_reencrypt_tokens ------------------------------------------------------------------


def save_tokens(store: DjangoInstallationStore) -> dict[str, object]:
    """Installations and bots with every kind of token; what the store reads back, for comparing."""
    store.save(
        installation(
            bot_token="xoxe.xoxb-1-rotating",
            bot_refresh_token="xoxe-1-bot-refresh",
            user_token="xoxe.xoxp-1-rotating",
            user_refresh_token="xoxe-1-user-refresh",
        )
    )
    store.save(installation(team_id="T222", user_id="U222", bot_token="xoxb-222", user_token=None))
    store.save(installation(team_id="T333", bot_token=None, bot_id=None, user_token="xoxp-333"))
    store.save_bot(installation(team_id="T444", bot_token="xoxb-444").to_bot())
    return read_back(store)


def read_back(store: DjangoInstallationStore) -> dict[str, object]:
    found: dict[str, object] = {}
    for team_id in ("T111", "T222", "T333", "T444"):
        for user_id in (None, "U111", "U222"):
            got = store.find_installation(enterprise_id="E111", team_id=team_id, user_id=user_id)
            found[f"{team_id}/{user_id}"] = got and got.to_dict_for_copying()
        bot = store.find_bot(enterprise_id="E111", team_id=team_id)
        found[f"{team_id}/bot"] = bot and bot.to_dict_for_copying()
    return found


@pytest.mark.parametrize("database", databases())
def test_reencrypt_then_retire_the_old_key(database, settings):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    before = save_tokens(store)
    stored_before = raw_tokens(database)
    assert len(stored_before) == 4 + 1 + 1 + 2 + 1 + 1  # installations' tokens, then bots'

    use_keys(settings, NEW_KEY, TEST_TOKEN_KEY)
    output = run("slack_bolt_reencrypt_tokens", "--database", database)
    assert output == (
        "Slack installations: 6 tokens re-encrypted in 3 rows, 0 already under the first key.\n"
        "Slack bots: 4 tokens re-encrypted in 3 rows, 0 already under the first key.\n"
    )
    stored_after = raw_tokens(database)
    assert stored_after.keys() == stored_before.keys()
    for where, ciphertext in stored_after.items():
        assert ciphertext != stored_before[where], where  # the dump shows new ciphertexts
        assert Fernet(NEW_KEY).decrypt(ciphertext.encode()), where

    use_keys(settings, NEW_KEY)  # the old key retired
    assert read_back(store) == before

    # Idempotent: a second run finds everything under the first key and writes nothing.
    assert run("slack_bolt_reencrypt_tokens", "--database", database) == (
        "Slack installations: 0 tokens re-encrypted in 0 rows, 6 already under the first key.\n"
        "Slack bots: 0 tokens re-encrypted in 0 rows, 4 already under the first key.\n"
    )
    assert raw_tokens(database) == stored_after


@pytest.mark.parametrize("database", databases())
def test_reencrypt_in_small_batches(database, settings):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    for n in range(7):
        store.save(installation(team_id=f"T{n}", bot_token=f"xoxb-{n}", user_token=f"xoxp-{n}"))
    before = read_back(store)
    use_keys(settings, NEW_KEY, TEST_TOKEN_KEY)
    assert "14 tokens re-encrypted in 7 rows" in run(
        "slack_bolt_reencrypt_tokens", "--database", database, "--batch-size", "2"
    )
    use_keys(settings, NEW_KEY)
    assert read_back(store) == before
    assert all(Fernet(NEW_KEY).decrypt(value.encode()) for value in raw_tokens(database).values())


@pytest.mark.parametrize("database", databases())
def test_a_token_no_key_opens_stops_the_command_and_leaves_its_batch_unchanged(database, settings):
    store = DjangoInstallationStore(CLIENT_ID, database=database)
    for n in range(4):
        store.save(installation(team_id=f"T{n}", bot_token=f"xoxb-{n}", user_token=None))
    pks = list(SlackInstallation.objects.using(database).order_by("pk").values_list("pk", flat=True))
    unreadable = pks[2]  # in the second batch of two
    with connections[database].cursor() as cursor:
        cursor.execute(
            f"UPDATE {SlackInstallation._meta.db_table} SET bot_token = %s WHERE id = %s",
            [Fernet(LOST_KEY).encrypt(b"xoxb-lost").decode(), unreadable],
        )
    stored_before = raw_tokens(database)

    use_keys(settings, NEW_KEY, TEST_TOKEN_KEY)
    with pytest.raises(CommandError) as raised:
        run("slack_bolt_reencrypt_tokens", "--database", database, "--batch-size", "2")
    message = str(raised.value)
    assert f"Slack installation pk={unreadable}: its bot_token cannot be decrypted" in message
    assert 'settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"]' in message

    stored_after = raw_tokens(database)
    table = SlackInstallation._meta.db_table
    changed = {pk for (where, pk, _), value in stored_after.items() if value != stored_before[(where, pk, _)]}
    assert {pk for pk in changed if pk in pks} >= set(pks[:2])  # the first batch is done
    for pk in pks[2:]:  # the failing batch: untouched
        assert stored_after[(table, pk, "bot_token")] == stored_before[(table, pk, "bot_token")]
    bots = SlackBot._meta.db_table
    assert {k: v for k, v in stored_after.items() if k[0] == bots} == {
        k: v for k, v in stored_before.items() if k[0] == bots
    }  # the bots table comes after: not reached


@pytest.mark.django_db
def test_reencrypt_refuses_unusable_keys(settings):
    use_keys(settings)
    with pytest.raises(CommandError, match=r'SLACK_BOLT\["TOKEN_ENCRYPTION_KEYS"\] is empty'):
        run("slack_bolt_reencrypt_tokens")


@pytest.mark.parametrize("size", ["0", "-3", "many"])
def test_reencrypt_refuses_a_batch_size_that_is_not_positive(size):
    with pytest.raises(CommandError, match="is not a positive number"):
        run("slack_bolt_reencrypt_tokens", "--batch-size", size)
