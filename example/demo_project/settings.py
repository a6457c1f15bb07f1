"""Settings of the demo project. Whatever differs between the demo and a real Slack app comes from the
environment (see example/README.md):

* ``SLACK_CLIENT_ID``, ``SLACK_CLIENT_SECRET`` and ``SLACK_SIGNING_SECRET``: from your app's page at
  api.slack.com (Basic Information > App Credentials);
* ``SLACK_TOKEN_ENCRYPTION_KEYS``: Fernet keys, comma-separated, that encrypt the tokens stored in the
  database (the first encrypts, all decrypt);
* ``SLACK_REDIRECT_URI``: the OAuth redirect URI sent to Slack; unset lets Slack use the app's own;
* ``SLACK_API_URL`` and ``SLACK_AUTHORIZATION_URL``: Slack's Web API and authorize page; unset means the
  real Slack (``make demo`` points them at a fake);
* ``DEMO_DATABASE``: the SQLite file (default ``example/db.sqlite3``; ``make demo`` uses a new one per run);
* ``DEMO_ASYNC`` (``true``/``false``, default false): serve the async variant of the app
  (``demo_project.async_slack_app``, an ``AsyncApp``) under an ASGI server, ``uvicorn
  demo_project.asgi:application``, instead of ``demo_project.slack_app`` under gunicorn;
* ``DEBUG`` (``true``/``false``, default false) and ``ALLOWED_HOSTS`` (comma-separated);
* ``DJANGO_SECRET_KEY``: set it anywhere the server is reachable by others.

The Slack credentials fall back to values that only the demo may use: they are in this public file, so
anyone could sign requests with them or read the tokens they encrypt. Set every one of them for a real
Slack app.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, "").strip() or default


# Only signs sessions and the like, which this project does not use; still, never deploy the default.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-demo-only-do-not-deploy")
# Off by default: behind a tunnel, a DEBUG page would show your settings to the internet.
DEBUG = env_bool("DEBUG")
# Add your tunnel's host name (e.g. "abc123.ngrok-free.app"), or Django answers Slack with a 400.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

# No admin, auth or sessions: the only pages are the Slack ones. Slack authenticates every request to
# /slack/events with its signature (checked by django_slack_bolt), and the install pages need no login.
INSTALLED_APPS = [
    # Its system checks validate SLACK_BOLT (python manage.py check); its migrations create the tables
    # of the installations, bots and OAuth states (tokens encrypted).
    "django_slack_bolt",
    "mentions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Kept on purpose: the Slack views are csrf-exempt by themselves, everything else stays protected.
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"
# The async variant of the Slack app (DEMO_ASYNC=1) is served under ASGI; the setting says so, and
# django_slack_bolt's check W003 warns about an AsyncApp in a project without it.
DEMO_ASYNC = env_bool("DEMO_ASYNC")
if DEMO_ASYNC:
    ASGI_APPLICATION = "demo_project.asgi.application"

# The install, success and failure pages are templates of django_slack_bolt (found through APP_DIRS);
# a template of the same name in a project's own templates directory replaces one.
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("DEMO_DATABASE") or BASE_DIR / "db.sqlite3",
        # Listener threads of several gunicorn workers may write at once; wait for the lock, don't fail.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django_slack_bolt caches each workspace's authorization and, when an installation changes (say, the
# app is uninstalled), invalidates it in the cache. Every gunicorn worker must see that: a cache shared by
# the processes, not Django's default per-process memory. The database serves here (`manage.py
# createcachetable` makes its table); in production, use Redis or memcached.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "demo_cache",
    }
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# --- Slack -------------------------------------------------------------------------------------------

# A Fernet key for the demo only, published in this file: tokens it encrypts are as good as plain text.
# `make demo` passes a key made for each run instead; for a real app, generate your own (see README.md).
DEMO_ONLY_TOKEN_ENCRYPTION_KEY = "ZGVtby1vbmx5LW5ldmVyLXVzZS10aGlzLWtleS0wMDA="

# A multi-workspace app: demo_project.slack_app builds it with django_slack_bolt.build_app() (and
# demo_project.async_slack_app with build_async_app()), which reads this dict. Installations (one per
# workspace) are stored with the ORM, tokens encrypted, and each request is authorized with its own
# workspace's token.
SLACK_BOLT = {
    # The Bolt app that django_slack_bolt.urls serves at /slack/events, /slack/install and
    # /slack/oauth_redirect: an App (sync views), or with DEMO_ASYNC an AsyncApp (async views).
    "APP": "demo_project.async_slack_app.app" if DEMO_ASYNC else "demo_project.slack_app.app",
    "CLIENT_ID": env_str("SLACK_CLIENT_ID", "0000000000.demo-only"),
    "CLIENT_SECRET": env_str("SLACK_CLIENT_SECRET", "demo-only-client-secret"),
    "SIGNING_SECRET": env_str("SLACK_SIGNING_SECRET", "demo-only-signing-secret"),
    # What the app asks a workspace for at install time (and slack-manifest.yaml declares).
    "SCOPES": ["commands", "app_mentions:read", "chat:write"],
    "TOKEN_ENCRYPTION_KEYS": env_list("SLACK_TOKEN_ENCRYPTION_KEYS", [DEMO_ONLY_TOKEN_ENCRYPTION_KEY]),
    "REDIRECT_URI": env_str("SLACK_REDIRECT_URI"),
    # None: Slack's own (https://slack.com/api/ and https://slack.com/oauth/v2/authorize).
    "WEB_API_URL": env_str("SLACK_API_URL"),
    "AUTHORIZATION_URL": env_str("SLACK_AUTHORIZATION_URL"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Refused requests (bad signature, too large) are logged at INFO, listener errors at ERROR.
        "django_slack_bolt": {"level": "INFO"},
        "slack_bolt": {"level": "INFO"},
        "demo_project": {"level": "INFO"},
    },
}
