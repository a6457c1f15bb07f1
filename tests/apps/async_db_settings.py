"""Settings of the uvicorn project of tests/test_async_connection_hygiene.py: an AsyncApp on PostgreSQL.

The test passes the database (its test database on the DJANGO_SLACK_BOLT_TEST_POSTGRES server),
``CONN_MAX_AGE`` and an ``application_name`` that tells the server's connections apart in
``pg_stat_activity``, through environment variables.
"""

import os

from tests.apps.async_settings import *  # noqa: F403
from tests.apps.async_settings import DATABASES, SLACK_BOLT

DATABASES = {
    "default": {
        **DATABASES["postgres"],
        "NAME": os.environ["DJANGO_SLACK_BOLT_TEST_SERVER_DB"],
        "CONN_MAX_AGE": int(os.environ["DJANGO_SLACK_BOLT_TEST_CONN_MAX_AGE"]),
        "OPTIONS": {"application_name": os.environ["DJANGO_SLACK_BOLT_TEST_APPLICATION_NAME"]},
    }
}
SLACK_BOLT = {**SLACK_BOLT, "APP": "tests.apps.async_db_slack_app.app"}
ROOT_URLCONF = "tests.apps.async_db_urls"

if os.environ.get("DJANGO_SLACK_BOLT_TEST_GC") == "off":
    # Nothing is then closed by the garbage collector collecting a dropped connection: whatever the
    # test sees closed was closed on purpose, and what is leaked stays leaked.
    import gc

    gc.disable()
