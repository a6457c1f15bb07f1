"""Settings of the benchmark project: a production-like middleware stack, DEBUG off.

The middleware is what a typical Django project runs on every request, so the "bare view" floor
includes it and the adapters are compared with what a real deployment pays anyway. Only the
authorization and stores parts use the database (stored installations); ``bench/run.py`` gives every
run a fresh database file and token key through the environment, which the gunicorn it starts inherits.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import unquote, urlsplit

from cryptography.fernet import Fernet

from . import environment

SECRET_KEY = "django-slack-bolt-bench-not-secret"
DEBUG = False
# "testserver" is the host of Django's test client; the others are how gunicorn is reached.
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# project.urls serves everything; the async part's servers name a URLconf of their own.
ROOT_URLCONF = os.environ.get(environment.URLCONF) or "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
USE_TZ = True

INSTALLED_APPS = [
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

# A database is configured, as in any real project, so the adapters' connection clean-up in the
# listener threads does its usual work. Only the authorization part's apps and the stores part read it
# (the stored installations); the other parts' requests never open a connection. bench/run.py names a fresh
# file for every run; the default only serves an import outside of it.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(environment.DATABASE)
        or os.path.join(tempfile.gettempdir(), "django-slack-bolt-bench.sqlite3"),
    }
}
# The stores part on PostgreSQL too, when bench/run.py got a server's URL (--postgres, or the variable
# itself): a second alias, which that part alone migrates and uses. Point it at a throwaway database.
_POSTGRES_URL = os.environ.get(environment.POSTGRES, "")
if _POSTGRES_URL:
    _pg = urlsplit(_POSTGRES_URL)
    DATABASES[environment.POSTGRES_ALIAS] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": (_pg.path or "/postgres").lstrip("/"),
        "USER": unquote(_pg.username or "postgres"),
        "PASSWORD": unquote(_pg.password or ""),
        "HOST": _pg.hostname or "127.0.0.1",
        "PORT": str(_pg.port or 5432),
    }
# No CACHES: Django's default local-memory cache, one per gunicorn worker, holds DjangoAuthorize's
# entries (each worker reads a workspace's installation once, then serves it from memory).

SLACK_BOLT = {
    # A key of its own per process when run.py did not provide one: enough for an in-process import,
    # not for gunicorn, whose workers must decrypt what run.py stored.
    "TOKEN_ENCRYPTION_KEYS": [os.environ.get(environment.TOKEN_KEY) or Fernet.generate_key().decode()],
    # The load client sends the same signed request again and again: replays, by design of a benchmark
    # (and Bolt's adapter, the comparison, runs them all).
    "REFUSE_REPLAYS": False,
}

# Quiet by default: a log line per request would be measured along with the adapters.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
