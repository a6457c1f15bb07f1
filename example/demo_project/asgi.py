"""The ASGI entry point: ``uvicorn demo_project.asgi:application`` (run from the directory of manage.py).

For the async app (``demo_project.async_slack_app``), which ``DEMO_ASYNC=1`` selects in the settings.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

application = get_asgi_application()

# Load the URLconf, and with it the Slack app, as the server boots rather than during the first request
# (as wsgi.py does): Slack allows 3 seconds for an ack, and a misconfigured app stops the server from
# starting instead of failing requests.
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
