"""A project served by gunicorn in test_authorize_shared_cache: settings, the app, and a store CLI.

Settings come from tests.settings with the database file and the cache taken from the environment:
``SHARED_DB`` (an SQLite file every process opens) and ``SHARED_CACHE`` (``redis://...`` for Django's
Redis cache, ``locmem`` for a cache of each process's own).
"""

from __future__ import annotations

import os
import sys
import time

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, SLACK_BOLT

DATABASES = {
    **DATABASES,
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("SHARED_DB", "")},
}
DATABASES.pop("postgres", None)
_cache = os.environ.get("SHARED_CACHE", "locmem")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache}
        if _cache.startswith("redis://")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# SHARED_ASYNC=1 serves an AsyncApp (under uvicorn) instead of an App (under gunicorn).
_ASYNC = os.environ.get("SHARED_ASYNC") == "1"
SLACK_BOLT = {
    **SLACK_BOLT,
    "APP": "tests.apps.shared_cache.async_app" if _ASYNC else "tests.apps.shared_cache.app",
    "CLIENT_ID": "111.222",
}
if _ASYNC:
    ASGI_APPLICATION = "tests.apps.shared_cache.application"
# Not this module: its URLs would be built while it is imported as the settings, before the apps load.
ROOT_URLCONF = "tests.apps.shared_cache_urls"


def _app():  # type: ignore[no-untyped-def]
    from slack_bolt import App

    from django_slack_bolt.oauth.authorize import DjangoAuthorize
    from tests.apps.slack_app import SIGNING_SECRET

    app = App(signing_secret=SIGNING_SECRET, authorize=DjangoAuthorize(client_id="111.222"))

    @app.command("/whoami")
    def whoami(ack, command, context):  # type: ignore[no-untyped-def]
        # The text is how long to keep this (sync) worker busy: requests sent meanwhile go to another.
        time.sleep(float(command.get("text") or 0))
        ack(f"{os.getpid()} {context.bot_token}")

    return app


def _async_app():  # type: ignore[no-untyped-def]
    from slack_bolt.async_app import AsyncApp

    from django_slack_bolt.oauth.async_authorize import AsyncDjangoAuthorize
    from tests.apps.slack_app import SIGNING_SECRET

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=AsyncDjangoAuthorize(client_id="111.222"))

    @app.command("/whoami")
    async def whoami(ack, command, context):  # type: ignore[no-untyped-def]
        await ack(f"{os.getpid()} {context.bot_token}")

    return app


_instances: dict[str, object] = {}
_BUILDERS = {"app": _app, "async_app": _async_app}


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # Built on first use, once Django is set up (this module is the settings too).
    if name == "application":
        from django.core.asgi import get_asgi_application

        return _instances.setdefault(name, get_asgi_application())
    if name not in _BUILDERS:
        raise AttributeError(name)
    if name not in _instances:
        _instances[name] = _BUILDERS[name]()
    return _instances[name]


def save_installation(team_id: str, bot_token: str) -> None:
    """``python -m tests.apps.shared_cache T1 xoxb-...``: what an OAuth callback in another process does."""
    from slack_sdk.oauth.installation_store import Installation

    from django_slack_bolt.oauth.installation_store import DjangoInstallationStore

    DjangoInstallationStore("111.222").save(
        Installation(
            team_id=team_id,
            user_id="U1",
            bot_token=bot_token,
            bot_id="B1",
            bot_user_id="UB1",
            installed_at=time.time(),
        )
    )


if __name__ == "__main__":
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.apps.shared_cache"
    django.setup()
    save_installation(sys.argv[1], sys.argv[2])
