"""The ASGI entry point of the project served by ``uvicorn tests.apps.async_asgi:application``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.apps.async_settings")

application = get_asgi_application()
