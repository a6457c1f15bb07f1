"""The system checks of the multi-workspace settings: E007 (values), E008 (token keys), E009 (cache)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from django_slack_bolt.checks import check_multi_workspace_settings, check_token_encryption_keys
from tests.settings import TEST_TOKEN_KEY

APP = "tests.apps.slack_app.app"
GENERATE = (
    'Generate a key with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())", and set SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"] = [that key] '
    "(read it from the environment; never commit it)."
)


def test_the_suite_settings_pass() -> None:
    assert check_token_encryption_keys() == []
    assert check_multi_workspace_settings() == []


@override_settings(SLACK_BOLT={"APP": APP})
def test_no_keys_needed_without_the_orm_stores() -> None:
    assert check_token_encryption_keys() == []


@override_settings(SLACK_BOLT={"APP": APP, "CLIENT_ID": "111.222"})
def test_e008_keys_missing_for_oauth_from_settings() -> None:
    assert check_token_encryption_keys() == [
        Error(
            'settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"] is empty: the ORM installation store encrypts '
            "tokens with it.",
            hint=GENERATE,
            id="django_slack_bolt.E008",
        )
    ]


@override_settings(SLACK_BOLT={"APP": "tests.apps.check_targets.orm_store_app"})
def test_e008_keys_missing_for_an_app_on_the_orm_store() -> None:
    assert [m.id for m in check_token_encryption_keys()] == ["django_slack_bolt.E008"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            TEST_TOKEN_KEY,
            'settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"] must be a list of keys, not a single string.',
        ),
        (
            [TEST_TOKEN_KEY, "not-a-key"],
            'settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"][1] is not a Fernet key '
            "(32 url-safe base64-encoded bytes).",
        ),
    ],
    ids=["string", "bad key"],
)
def test_e008_invalid_keys(keys: Any, message: str) -> None:
    with override_settings(SLACK_BOLT={"APP": APP, "TOKEN_ENCRYPTION_KEYS": keys}):
        assert check_token_encryption_keys() == [Error(message, hint=GENERATE, id="django_slack_bolt.E008")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"SCOPES": "chat:write"}, "[\"SCOPES\"] must be a list of scope names, e.g. ['chat:write']."),
        ({"USER_SCOPES": [1]}, "[\"USER_SCOPES\"] must be a list of scope names, e.g. ['chat:write']."),
        ({"STATE_EXPIRATION_SECONDS": 0}, '["STATE_EXPIRATION_SECONDS"] must be a positive whole number.'),
        (
            {"TOKEN_ROTATION_EXPIRATION_MINUTES": True},
            '["TOKEN_ROTATION_EXPIRATION_MINUTES"] must be a positive whole number.',
        ),
        (
            {"AUTHORIZE_CACHE_TIMEOUT": -1},
            '["AUTHORIZE_CACHE_TIMEOUT"] must be a positive number of seconds, or None to keep entries until '
            "invalidated.",
        ),
        ({"INSTALL_PATH": "slack/install"}, '["INSTALL_PATH"] must be a path starting with /.'),
        ({"CLIENT_ID": 111.222}, '["CLIENT_ID"] must be a string (or None).'),
    ],
)
def test_e007_multi_workspace_values(extra: dict[str, Any], message: str) -> None:
    key = next(iter(extra))
    with override_settings(SLACK_BOLT={"APP": APP, "TOKEN_ENCRYPTION_KEYS": [TEST_TOKEN_KEY], **extra}):
        assert check_multi_workspace_settings() == [
            Error(
                f"settings.SLACK_BOLT{message}",
                hint=f"Leave {key} out to use the default.",
                id="django_slack_bolt.E007",
            )
        ]


@override_settings(SLACK_BOLT={"APP": APP, "AUTHORIZE_CACHE": "redis"})
def test_e009_unknown_cache() -> None:
    assert check_multi_workspace_settings() == [
        Error(
            "settings.SLACK_BOLT[\"AUTHORIZE_CACHE\"] = 'redis' is not a cache in settings.CACHES.",
            hint="Name one of settings.CACHES; in production, a cache every worker shares (Redis).",
            id="django_slack_bolt.E009",
        )
    ]


@override_settings(
    SLACK_BOLT={"APP": APP, "CLIENT_ID": "111.222", "TOKEN_ENCRYPTION_KEYS": [TEST_TOKEN_KEY]},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_w004_per_process_cache() -> None:
    from django_slack_bolt.checks import check_authorize_cache_is_shared

    assert check_authorize_cache_is_shared() == [
        Warning(
            "Authorizations are cached in 'default', a LocMemCache: each worker process has its own, so a "
            "re-install, uninstall or token rotation handled by one worker is not seen by the others until "
            'their entries expire (SLACK_BOLT["AUTHORIZE_CACHE_TIMEOUT"]).',
            hint='Point SLACK_BOLT["AUTHORIZE_CACHE"] at a cache every worker shares (Redis, Memcached or '
            "the database cache), or ignore this when a single process serves the app.",
            id="django_slack_bolt.W004",
        )
    ]


@override_settings(
    SLACK_BOLT={"APP": APP, "CLIENT_ID": "111.222", "TOKEN_ENCRYPTION_KEYS": [TEST_TOKEN_KEY]},
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1",
        },
    },
)
def test_w004_not_for_a_shared_cache(settings: Any) -> None:
    from django_slack_bolt.checks import check_authorize_cache_is_shared

    settings.SLACK_BOLT = {**settings.SLACK_BOLT, "AUTHORIZE_CACHE": "shared"}
    assert check_authorize_cache_is_shared() == []
