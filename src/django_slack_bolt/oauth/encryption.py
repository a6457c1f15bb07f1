"""Tokens encrypted at rest: Fernet keys from ``SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"]``.

The first key encrypts; every key decrypts (a :class:`~cryptography.fernet.MultiFernet`), so a new
key is rolled out by putting it first, then running ``manage.py slack_bolt_reencrypt_tokens`` to
re-encrypt the stored tokens under it, then removing the old key. Generate a key with::

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

from .. import conf
from ..exceptions import SlackBoltImproperlyConfigured

__all__ = [
    "EncryptedTokenField",
    "decrypt_token",
    "encrypt_token",
    "get_fernet",
    "is_under_first_key",
    "key_problems",
    "reencrypt",
]

SETTING = 'settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"]'
# How a token leaves the database in serialized form (dumpdata, a form's initial value): sealed,
# never plain. Loading such a value (loaddata, a form) unseals it with the configured keys.
SEALED_PREFIX = "fernet:"
GENERATE_HINT = (
    'Generate a key with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def key_problems(keys: object) -> str | None:
    """Why ``keys`` cannot encrypt tokens, or None when it can: a non-empty list of Fernet keys."""
    if isinstance(keys, (str, bytes)):
        return f"{SETTING} must be a list of keys, not a single string."
    if not isinstance(keys, Sequence) or not keys:
        return f"{SETTING} is empty: the ORM installation store encrypts tokens with it."
    for position, key in enumerate(keys):
        try:
            Fernet(key)
        except (TypeError, ValueError):
            return f"{SETTING}[{position}] is not a Fernet key (32 url-safe base64-encoded bytes)."
    return None


@functools.cache
def get_fernet() -> MultiFernet:
    """The :class:`MultiFernet` of the configured keys (cached until the setting changes)."""
    keys = conf.get_setting("TOKEN_ENCRYPTION_KEYS")
    problem = key_problems(keys)
    if problem is not None:
        raise SlackBoltImproperlyConfigured(f"{problem} {GENERATE_HINT}")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_token(token: str) -> str:
    """``token`` encrypted under the first key, as text."""
    return get_fernet().encrypt(token.encode("utf-8")).decode("ascii")


def decrypt_token(ciphertext: str) -> str:
    """The token in ``ciphertext``; the error names the setting when no configured key opens it."""
    try:
        return get_fernet().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as e:
        raise SlackBoltImproperlyConfigured(
            f"A stored Slack token cannot be decrypted with any key in {SETTING}. Keep the key it was "
            "encrypted with in the list (after the new one) until slack_bolt_reencrypt_tokens has run."
        ) from e


def reencrypt(ciphertext: str) -> str:
    """``ciphertext`` re-encrypted under the first key (unchanged token)."""
    try:
        return get_fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as e:
        raise SlackBoltImproperlyConfigured(
            f"A stored Slack token cannot be decrypted with any key in {SETTING}."
        ) from e


def is_under_first_key(ciphertext: str) -> bool:
    """Whether the first configured key opens ``ciphertext`` (re-encrypting it would change nothing)."""
    get_fernet()  # the keys are valid, or the error says what to fix
    first = Fernet(conf.get_setting("TOKEN_ENCRYPTION_KEYS")[0])
    try:
        first.decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def seal(token: str) -> str:
    """``token`` as it may appear outside the database: encrypted, marked with :data:`SEALED_PREFIX`."""
    return SEALED_PREFIX + encrypt_token(token)


def unseal(value: str) -> str:
    """The token of a :func:`seal`-ed value; any other string is returned unchanged."""
    if value.startswith(SEALED_PREFIX):
        return decrypt_token(value[len(SEALED_PREFIX) :])
    return value


class EncryptedTokenField(models.TextField):  # type: ignore[type-arg]
    """A token column holding Fernet ciphertext; Python code sees the plain token (or None).

    The column can be tested for NULL, but not searched by value: each encryption differs.
    Serializers (``dumpdata``) and model forms get the token sealed (``fernet:<ciphertext>``), and
    a sealed value assigned or loaded back (``loaddata``, a form) is unsealed: a dump never shows a
    token, and a sealed value is never stored encrypted twice.
    """

    description = "A Slack token, encrypted with SLACK_BOLT['TOKEN_ENCRYPTION_KEYS']"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt_token(value)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return unseal(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)  # to_python: a sealed value is unsealed first
        if value is None or value == "":
            return None
        return encrypt_token(str(value))

    def value_from_object(self, obj: models.Model) -> Any:
        value = super().value_from_object(obj)
        if not isinstance(value, str) or not value or value.startswith(SEALED_PREFIX):
            return value
        return seal(value)


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting == conf.SETTING_NAME:
        get_fernet.cache_clear()
