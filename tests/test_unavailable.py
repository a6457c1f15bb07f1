"""Requests the project cannot serve as it is set up answer 503 with a short JSON reason and one log
line, never a debug page, a bare 500 or a traceback; and are served again, by themselves, once it is
fixed (http.unavailable)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import path

from django_slack_bolt.http.views import AsyncSlackEventsView, SlackEventsView
from django_slack_bolt.testing import slash_command
from tests.apps.slack_app import SIGNING_SECRET
from tests.test_authorize_shared_cache import ROOT, _env, _free_port, _save, _wait_for_port

# The test's own URLconf: the sync and the async events views, serving SLACK_BOLT["APP"].
urlpatterns = [
    path("sync/events", SlackEventsView.as_view()),
    path("async/events", AsyncSlackEventsView.as_view()),
]


def _post(port: int, url_path: str = "/slack/events") -> tuple[int, str]:
    request = slash_command("/whoami", "0", signing_secret=SIGNING_SECRET, team_id="T1", user_id="U1")
    http = urllib.request.Request(
        f"http://127.0.0.1:{port}{url_path}",
        data=request.body.encode(),
        headers={**request.headers, "Content-Type": request.content_type, "Connection": "close"},
    )
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT
    )


SERVERS = {
    "gunicorn": (
        ["-m", "gunicorn", "django.core.wsgi:get_wsgi_application()", "--workers", "1",
         "--no-control-socket", "--log-level", "warning", "--bind"],
        {},
    ),
    "uvicorn": (
        ["-m", "uvicorn", "tests.apps.shared_cache:application", "--lifespan", "off", "--no-access-log",
         "--host", "127.0.0.1", "--port"],
        {"SHARED_ASYNC": "1"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_an_unmigrated_database_answers_503_then_recovers_by_itself(tmp_path: Path, server: str) -> None:
    """The app's tables were never migrated: each request answers 503 `database_not_migrated` with one
    log line; once `migrate` runs (and a workspace is installed), the same server serves it."""
    if server == "uvicorn":
        pytest.importorskip("uvicorn")
        pytest.importorskip("aiohttp")
    arguments, extra_env = SERVERS[server]
    env = {**_env(tmp_path / "fresh.sqlite3", "locmem"), **extra_env}
    port = _free_port()
    bind = [f"127.0.0.1:{port}"] if server == "gunicorn" else [str(port)]
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *arguments, *bind], env=env, cwd=ROOT, stderr=log_file, stdout=log_file
        )
        try:
            _wait_for_port(port, process)
            answers = [_post(port) for _ in range(3)]
            _migrate(env)
            _save(env, "xoxb-first")
            status, body = _post(port)
        finally:
            process.terminate()
            process.wait(20)
    expected = json.dumps({"error": "service_unavailable", "reason": "database_not_migrated"})
    assert answers == [(503, expected)] * 3
    assert status == 200
    assert body.split()[1] == "xoxb-first"
    text = log.read_text(errors="replace")
    # One line per request, naming the fix; no traceback, no second line from Django or Bolt.
    assert text.count("answered 503 (database_not_migrated)") == 3, text
    assert text.count("python manage.py migrate") == 3, text
    assert "Traceback" not in text, text
    assert "Service Unavailable" not in text, text
    assert "Failed to run a middleware" not in text, text


@pytest.mark.parametrize("url_path", ["/sync/events", "/async/events"])
@override_settings(ROOT_URLCONF=__name__, SLACK_BOLT={"APP": "tests.apps.nowhere.app"})
def test_an_app_that_does_not_import_answers_503(client, url_path, caplog):
    request = slash_command("/whoami", signing_secret=SIGNING_SECRET)
    with caplog.at_level(logging.INFO):
        response = client.post(
            url_path,
            request.body,
            content_type=request.content_type,
            headers=request.headers,
        )
    assert response.status_code == 503
    assert response.json() == {"error": "service_unavailable", "reason": "app_not_configured"}
    # The details stay in the log: one line, which names the setting to fix.
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name == "django_slack_bolt.request"
    assert record.getMessage().startswith(f"POST {url_path} answered 503 (app_not_configured): ")
    assert "SLACK_BOLT[\"APP\"] = 'tests.apps.nowhere.app' cannot be imported" in record.getMessage()
    assert record.exc_info is None


def test_an_unmigrated_database_is_reported_by_check_database(tmp_path: Path) -> None:
    env = _env(tmp_path / "fresh.sqlite3", "locmem")
    check = [sys.executable, "-m", "django", "check", "--database", "default"]
    before = subprocess.run(check, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "django_slack_bolt.W006" in before.stderr + before.stdout
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input"], env=env, cwd=ROOT, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert "django_slack_bolt.W006" in migrate.stderr + migrate.stdout  # said before it applies them
    after = subprocess.run(check, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "django_slack_bolt.W006" not in after.stderr + after.stdout
