"""ASGI entry point for uvicorn (``project.asgi:application`` with ``bench/`` on the Python path)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

application = get_asgi_application()
