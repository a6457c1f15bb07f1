"""The ``SLACK_BOLT`` settings dict: defaults in one place, read through one cached accessor.

Projects configure the package with a single dict in their settings module::

    SLACK_BOLT = {
        "APP": "myproject.slack.app",  # dotted path to a slack_bolt.App instance
    }

Unknown keys are rejected (a typo would otherwise be silently ignored); the system checks in
:mod:`django_slack_bolt.checks` report them with the list of valid keys.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .exceptions import SlackBoltImproperlyConfigured

SETTING_NAME: Final = "SLACK_BOLT"

DEFAULTS: Final[Mapping[str, Any]] = {
    # Dotted path to the slack_bolt.App served by django_slack_bolt.urls (a module attribute).
    "APP": None,
    # Answer Slack as soon as ack() is called instead of polling for it every 10 ms.
    "FAST_ACK": True,
    # Run a signed request once: a repeat of its timestamp and signature (a replay) is answered 200
    # without running it. The first sighting is claimed in CLAIMS_CACHE, which every process must share.
    "REFUSE_REPLAYS": True,
    "CLAIMS_CACHE": "default",
    # How many lazy listeners run at once in a web process: the threads of their own executor (App), or
    # the lazy-listener tasks running at once (AsyncApp). Ack functions never wait behind them.
    "LAZY_LISTENER_WORKERS": 10,
    # Largest request body handed to Bolt, in bytes; larger requests get 413 without being read.
    # None falls back to Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB by default).
    "MAX_BODY_SIZE": None,
    # --- Multi-workspace apps: what django_slack_bolt.build_app() reads. ---
    # The app's signing secret; None falls back to the SLACK_SIGNING_SECRET environment variable.
    "SIGNING_SECRET": None,
    # The app's name on the install and callback pages; None says "the app".
    "APP_NAME": None,
    # OAuth client credentials; None falls back to SLACK_CLIENT_ID / SLACK_CLIENT_SECRET.
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    # Bot and user scopes requested by the install page.
    "SCOPES": (),
    "USER_SCOPES": (),
    # Paths of the install page and the OAuth redirect URI, as Bolt's OAuthSettings takes them.
    "INSTALL_PATH": "/slack/install",
    "REDIRECT_URI_PATH": "/slack/oauth_redirect",
    # The absolute redirect URI sent to Slack; None lets Slack use the app's configured one.
    "REDIRECT_URI": None,
    # Slack's authorize page and Web API base URL; None means Slack's own. Point them elsewhere for
    # a gateway, or for django_slack_bolt.testing.FakeSlack in a demo or an end-to-end test.
    "AUTHORIZATION_URL": None,
    "WEB_API_URL": None,
    # Seconds an OAuth state (the install page's CSRF token) stays usable.
    "STATE_EXPIRATION_SECONDS": 600,
    # Refresh rotating tokens this many minutes before they expire (Bolt's default).
    "TOKEN_ROTATION_EXPIRATION_MINUTES": 120,
    # Fernet keys for the tokens stored in the database: the first encrypts, all decrypt.
    "TOKEN_ENCRYPTION_KEYS": (),
    # The Django cache (alias) holding authorizations, and how long an entry lives, in seconds.
    "AUTHORIZE_CACHE": "default",
    "AUTHORIZE_CACHE_TIMEOUT": 300,
}

_FALLBACK_MAX_BODY_SIZE: Final = 2_621_440


def unknown_keys(user_settings: Mapping[str, Any]) -> list[str]:
    """The keys of ``user_settings`` that django-slack-bolt does not know, sorted."""
    return sorted(key for key in user_settings if key not in DEFAULTS)


def _user_settings() -> Mapping[str, Any]:
    user_settings = getattr(django_settings, SETTING_NAME, None)
    if user_settings is None:
        return {}
    if not isinstance(user_settings, Mapping):
        raise SlackBoltImproperlyConfigured(
            f"settings.{SETTING_NAME} must be a dict, not {type(user_settings).__name__}."
        )
    return user_settings


@functools.cache
def get_settings() -> Mapping[str, Any]:
    """The effective settings: :data:`DEFAULTS` updated with ``settings.SLACK_BOLT``.

    Cached; the cache is cleared when Django's ``setting_changed`` signal fires (``override_settings``).
    """
    user_settings = _user_settings()
    unknown = unknown_keys(user_settings)
    if unknown:
        raise SlackBoltImproperlyConfigured(
            f"Unknown key(s) in settings.{SETTING_NAME}: {', '.join(unknown)}. "
            f"Valid keys are: {', '.join(sorted(DEFAULTS))}."
        )
    return {**DEFAULTS, **user_settings}


def get_setting(name: str) -> Any:
    """One value of the effective settings; ``name`` must be one of :data:`DEFAULTS`."""
    return get_settings()[name]


def max_body_size() -> int:
    """The body-size limit in bytes: ``SLACK_BOLT["MAX_BODY_SIZE"]``, else Django's upload limit."""
    configured = get_setting("MAX_BODY_SIZE")
    if configured is not None:
        return int(configured)
    django_limit = getattr(django_settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None)
    return int(django_limit) if django_limit is not None else _FALLBACK_MAX_BODY_SIZE


@receiver(setting_changed)
def _clear_cache_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING_NAME, "DATA_UPLOAD_MAX_MEMORY_SIZE"):
        get_settings.cache_clear()
