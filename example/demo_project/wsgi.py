"""The WSGI entry point: ``gunicorn demo_project.wsgi`` (run from the directory of manage.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

application = get_wsgi_application()

# Load the URLconf, and with it the Slack app, as each gunicorn worker boots rather than during its first
# request: Slack allows 3 seconds for an ack, and a misconfigured app stops the worker from booting
# instead of failing requests.
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
