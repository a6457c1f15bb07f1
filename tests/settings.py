"""Settings for the test suite: SQLite by default, PostgreSQL when DJANGO_SLACK_BOLT_TEST_POSTGRES is set."""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

import django

SECRET_KEY = "django-slack-bolt-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_slack_bolt",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
if django.VERSION >= (5, 1):
    # Every view needs a login unless exempted: proves the Slack views are exempt.
    MIDDLEWARE.append("django.contrib.auth.middleware.LoginRequiredMiddleware")

# The OAuth pages are templates of the package (django_slack_bolt/templates), found through APP_DIRS.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        # What the admin (tests/test_admin.py) needs.
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "TEST": {
            "NAME": os.path.join(tempfile.gettempdir(), f"django-slack-bolt-tests-{os.getpid()}.sqlite3")
        },
    }
}

# A fixed Fernet key for the tests only; a project generates its own (see the README).
TEST_TOKEN_KEY = "mtGJ2QAuAAL8zuHCTX66i0pqBRt0mrqvMJrmJGbw1Ws="
SLACK_BOLT = {"APP": "tests.apps.slack_app.app", "TOKEN_ENCRYPTION_KEYS": [TEST_TOKEN_KEY]}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# A real PostgreSQL server for the tests marked `postgres` (started by .ci/run), as a URL:
# postgresql://USER[:PASSWORD]@HOST:PORT/DBNAME. Without it those tests skip.
POSTGRES_URL = os.environ.get("DJANGO_SLACK_BOLT_TEST_POSTGRES", "")
if POSTGRES_URL:
    from urllib.parse import unquote, urlsplit

    _pg = urlsplit(POSTGRES_URL)
    DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": (_pg.path or "/postgres").lstrip("/"),
        "USER": unquote(_pg.username or "postgres"),
        "PASSWORD": unquote(_pg.password or ""),
        "HOST": _pg.hostname or "127.0.0.1",
        "PORT": str(_pg.port or 5432),
        "CONN_MAX_AGE": 0,
        # Unique per run, so that suites running at once can share one server. Set in the environment,
        # the name is the same in the servers a test starts (they import these settings too).
        "TEST": {
            "NAME": os.environ.setdefault(
                "DJANGO_SLACK_BOLT_TEST_POSTGRES_DB", f"test_django_slack_bolt_{uuid.uuid4().hex[:12]}"
            )
        },
    }
