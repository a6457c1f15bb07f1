"""Settings of the demo project. Whatever differs between the demo and a real Slack app comes from the
environment (see example/README.md):

* ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET``: from your app's page at api.slack.com;
* ``SLACK_API_URL``: the Web API base URL; unset means the real Slack (``make demo`` points it at a fake);
* ``DEBUG`` (``true``/``false``, default false) and ``ALLOWED_HOSTS`` (comma-separated);
* ``DJANGO_SECRET_KEY``: set it anywhere the server is reachable by others.
"""

from __future__ import annotations

import os
from pathlib import Path

from slack_sdk import WebClient

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


# Only signs sessions and the like, which this project does not use; still, never deploy the default.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-demo-only-do-not-deploy")
# Off by default: behind a tunnel, a DEBUG page would show your settings to the internet.
DEBUG = env_bool("DEBUG")
# Add your tunnel's host name (e.g. "abc123.ngrok-free.app"), or Django answers Slack with a 400.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

# No admin, auth or sessions: Slack is the only client, and it authenticates every request with its
# signature (checked by django_slack_bolt) rather than with a login.
INSTALLED_APPS = [
    "django_slack_bolt",  # its system checks validate SLACK_BOLT (python manage.py check)
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        # Listener threads of several gunicorn workers may write at once; wait for the lock, don't fail.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# --- Slack -------------------------------------------------------------------------------------------

SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL") or WebClient.BASE_URL

# The Bolt app that django_slack_bolt.urls serves at /slack/events.
SLACK_BOLT = {"APP": "demo_project.slack_app.app"}

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
