"""What ``bench/run.py`` hands the servers it starts, through environment variables."""

from __future__ import annotations

import os

# This run's SQLite file and token encryption key (Fernet), fresh for every run.
DATABASE = "DJANGO_SLACK_BOLT_BENCH_DATABASE"
TOKEN_KEY = "DJANGO_SLACK_BOLT_BENCH_TOKEN_KEY"
# The fake Slack's Web API URL, set by the authorization and async parts for the servers they start.
WEB_API_URL = "DJANGO_SLACK_BOLT_BENCH_WEB_API_URL"
# The URLconf a server serves (default: project.urls, everything): the async part's servers each serve
# one app, so that a worker's memory is that app's.
URLCONF = "DJANGO_SLACK_BOLT_BENCH_URLCONF"
# A PostgreSQL server for the stores part, as a URL (postgresql://USER[:PASSWORD]@HOST:PORT/DBNAME):
# the settings then add the database alias POSTGRES_ALIAS. bench/run.py's --postgres sets it.
POSTGRES = "DJANGO_SLACK_BOLT_BENCH_POSTGRES"
POSTGRES_ALIAS = "bench_postgres"

# Where the apps' clients send Web API calls without WEB_API_URL: a closed local port, so that a
# misconfigured run fails rather than call the real Slack.
UNREACHABLE_WEB_API_URL = "http://127.0.0.1:9/api/"


def web_api_url() -> str:
    """The Web API base URL of the apps' clients: the fake Slack's when the bench started one."""
    return os.environ.get(WEB_API_URL) or UNREACHABLE_WEB_API_URL
