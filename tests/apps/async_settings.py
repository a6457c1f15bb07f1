"""Settings of the ASGI project that tests/test_async_server.py serves with uvicorn in a subprocess.

The test suite's settings, serving tests.apps.async_slack_app.app (an AsyncApp) and saying it is
served under ASGI, as a project run by ``uvicorn myproject.asgi:application`` does.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import SLACK_BOLT

# DJANGO_SLACK_BOLT_TEST_FAST_ACK=0 serves it with Bolt's polling runner (the control of the timing test).
SLACK_BOLT = {
    **SLACK_BOLT,
    "APP": "tests.apps.async_slack_app.app",
    "FAST_ACK": os.environ.get("DJANGO_SLACK_BOLT_TEST_FAST_ACK", "1") == "1",
}
ASGI_APPLICATION = "tests.apps.async_asgi.application"
