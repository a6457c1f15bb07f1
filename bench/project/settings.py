"""Settings of the benchmark project: a production-like middleware stack, DEBUG off, no database use.

The middleware is what a typical Django project runs on every request, so the "bare view" floor
includes it and the adapters are compared with what a real deployment pays anyway.
"""

from __future__ import annotations

import os
import tempfile

SECRET_KEY = "django-slack-bolt-bench-not-secret"
DEBUG = False
# "testserver" is the host of Django's test client; the others are how gunicorn is reached.
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
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
# listener threads does its usual work; no request here ever opens a connection, so the file is
# never created.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.gettempdir(), "django-slack-bolt-bench.sqlite3"),
    }
}

# Quiet by default: a log line per request would be measured along with the adapters.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
