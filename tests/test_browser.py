"""The OAuth install flow in a real browser: headless Chromium, a real gunicorn, FakeSlack as Slack.

A multi-workspace app built by ``django_slack_bolt.build_app()`` is served by gunicorn (its own process,
on the test database) from a small project written to ``tmp_path`` on top of this suite's settings.
Chromium opens the install page, clicks "Add to Slack", goes through the fake's authorize page (which
redirects back with a code) and lands on the success page; the installation is then read back, tokens
decrypted, through the ORM store. Failures (cancelled at Slack, a bogus state) show the failure page.

Screenshots (PNG) go to ``$DJANGO_SLACK_BOLT_SCREENSHOTS`` when set, else to the test's ``tmp_path``.

Needs selenium, Chromium and chromedriver (Debian: ``apt install chromium chromium-driver``): without
them the tests skip, except in CI (``CI=true``), where a missing browser is a broken setup and fails.
Chromium reaches 127.0.0.1 only: every host name resolves to nothing, and proxies are ignored.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from django_slack_bolt.models import SlackInstallation
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.testing import AUTHORIZE_METHOD, FakeSlack

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
SCREENSHOTS_ENV = "DJANGO_SLACK_BOLT_SCREENSHOTS"

CLIENT_ID = "1111111111.2222222222222"
CLIENT_SECRET = "browser-test-client-secret"
SIGNING_SECRET = "browser-test-signing-secret"
STATE_COOKIE = "slack-app-oauth-state"
TEAM_ID = "T0BROWSER"
TEAM_NAME = "Browser Test Co"
BOT_USER_ID = "U0BROWSER"
INSTALLER_ID = "U0INSTALL"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# Seconds for a page to load or a server to start; generous for a loaded CI machine.
WAIT = 30

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn writes to the test database


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing_tools() -> list[str]:
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install selenium)")
    if _chromium() is None:
        missing.append("chromium (apt install chromium)")
    if shutil.which("chromedriver") is None:
        missing.append("chromedriver (apt install chromium-driver)")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing.append("gunicorn (pip install gunicorn)")
    return missing


@pytest.fixture(scope="module")
def browser_tools() -> None:
    """Skip when the browser or its driver is missing; in CI, fail: the CI setup installs them."""
    missing = _missing_tools()
    if missing:
        reason = f"the browser tests need {', '.join(missing)}"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true, so this is a broken CI setup (see .ci/run and noxfile.py)")
        pytest.skip(reason)


# --- the server: a project built around build_app(), under gunicorn ---------------------------------


def _write_site(directory: Path, *, database: str, fake: FakeSlack) -> None:
    """A Django project, ``browser_site``: this suite's settings, its database, and a build_app() app."""
    package = directory / "browser_site"
    package.mkdir()
    (package / "__init__.py").write_text("")
    slack_bolt = {
        "APP": "browser_site.slack.app",
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "SIGNING_SECRET": SIGNING_SECRET,
        "SCOPES": ["commands", "chat:write"],
        "TOKEN_ENCRYPTION_KEYS": list(settings.SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"]),
        "WEB_API_URL": fake.url,
        "AUTHORIZATION_URL": fake.authorize_url,
    }
    (package / "settings.py").write_text(
        dedent(
            f"""\
            from tests.settings import *  # noqa: F403

            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": {database!r},
                    "OPTIONS": {{"timeout": 20}},
                }}
            }}
            ROOT_URLCONF = "browser_site.urls"
            SLACK_BOLT = {slack_bolt!r}
            """
        )
    )
    (package / "slack.py").write_text("from django_slack_bolt import build_app\n\napp = build_app()\n")
    (package / "urls.py").write_text(
        "from django.urls import include, path\n\n"
        'urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]\n'
    )
    (package / "wsgi.py").write_text(
        "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n"
    )


def _gunicorn_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(part) for part in version("gunicorn").split(".")[:2] if part.isdigit())


@dataclass
class Site:
    url: str
    fake: FakeSlack
    log: Path


@contextlib.contextmanager
def _gunicorn(directory: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """gunicorn serving ``browser_site``, on a port the system picks (gunicorn logs which)."""
    log = directory / "gunicorn.log"
    env = {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="browser_site.settings",
        PYTHONPATH=os.pathsep.join([str(directory), str(ROOT)]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    argv = [sys.executable, "-m", "gunicorn", "browser_site.wsgi", "-b", "127.0.0.1:0"]
    argv += ["--workers", "1", "--threads", "4", "-k", "gthread", "--graceful-timeout", "5"]
    if _gunicorn_version() >= (25, 1):
        argv.append("--no-control-socket")  # one fixed path per user otherwise
    with open(log, "wb") as output:
        process = subprocess.Popen(
            argv,
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers, should any outlive the master
        process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], log: Path) -> str:
    """The server's URL, once it answers a HEAD on the events URL."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + WAIT
    while True:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with status {process.returncode}:\n{log.read_text()}")
        listening = re.search(r"Listening at: (http://127\.0\.0\.1:\d+) ", log.read_text())
        if listening is not None:
            url = listening.group(1)
            try:
                with opener.open(urllib.request.Request(f"{url}/slack/events", method="HEAD"), timeout=2):
                    return url
            except urllib.error.HTTPError as error:
                pytest.fail(
                    f"gunicorn answered HEAD {url}/slack/events with {error.code}:\n{log.read_text()}"
                )
            except OSError:
                pass  # workers still booting
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not answer within {WAIT} s:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def site(browser_tools: None, tmp_path: Path) -> Iterator[Site]:
    """gunicorn serving a build_app() app on the test database, with FakeSlack as Slack."""
    database = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or "memory" in database:
        pytest.skip(f"gunicorn needs the test database in a file, not {database!r}")
    with FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, strict_tokens=True) as fake:
        fake.add_workspace(
            TEAM_ID, team_name=TEAM_NAME, bot_user_id=BOT_USER_ID, installer_user_id=INSTALLER_ID
        )
        _write_site(tmp_path, database=database, fake=fake)
        with _gunicorn(tmp_path) as (process, log):
            url = _wait_until_serving(process, log)
            # The app's Redirect URL, as its settings at api.slack.com would hold it.
            fake.configure_oauth(redirect_uri=f"{url}/slack/oauth_redirect")
            yield Site(url, fake, log)
        # Refused callbacks are logged at INFO: the server's log holds no error.
        assert "Traceback" not in log.read_text(), log.read_text()


# --- the browser -----------------------------------------------------------------------------------


@pytest.fixture
def browser(browser_tools: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from selenium import webdriver

    # Selenium's own connection to chromedriver (on localhost) must not go through a proxy.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    options = webdriver.ChromeOptions()
    options.binary_location = str(_chromium())
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1024,768",
        # 127.0.0.1 only: no proxy, and every host name resolves to nothing.
        "--no-proxy-server",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """The directory for screenshots: ``$DJANGO_SLACK_BOLT_SCREENSHOTS``, else the test's ``tmp_path``."""
    directory = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def shoot(driver: Any, directory: Path, name: str) -> Path:
    """Save a screenshot of the page as ``<name>.png``; it must be a PNG with something in it."""
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot saved at {path}"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG"
    assert len(data) > 1000, f"{path} is nearly empty ({len(data)} bytes)"
    return path


def wait_for_title(driver: Any, title: str) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, WAIT).until(expected_conditions.title_is(title))
    except Exception as error:
        pytest.fail(f"expected the page {title!r}; at {driver.current_url} ({driver.title!r}): {error!r}")


def text_of(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def click_add_to_slack(driver: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{site.url}/slack/install")
    wait_for_title(driver, "Add the app to Slack")
    button = driver.find_element(By.LINK_TEXT, "Add to Slack")
    assert str(button.get_attribute("href")).startswith(site.fake.authorize_url)
    button.click()


# --- the tests -------------------------------------------------------------------------------------


def test_install_in_a_browser(site: Site, browser: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{site.url}/slack/install")
    wait_for_title(browser, "Add the app to Slack")
    assert text_of(browser, "h1") == "Add the app to Slack"
    # The one-time state, kept by this browser for the callback (HttpOnly: not readable by scripts).
    cookie = browser.get_cookie(STATE_COOKIE)
    assert cookie is not None, browser.get_cookies()
    assert cookie["httpOnly"] is True
    shoot(browser, screenshots, "01-install-page")

    browser.find_element(By.LINK_TEXT, "Add to Slack").click()
    # At the fake's authorize page, which approves at once and redirects back with a code.
    wait_for_title(browser, "Installed")
    assert browser.current_url.startswith(f"{site.url}/slack/oauth_redirect?code=")
    assert text_of(browser, "h1") == "The app is installed"
    assert f"It was added to the {TEAM_NAME} workspace." in text_of(browser, "main")
    open_slack = browser.find_element(By.LINK_TEXT, "Open Slack")
    assert open_slack.get_attribute("href") == f"slack://app?team={TEAM_ID}&id={site.fake.api_app_id}"
    assert browser.get_cookie(STATE_COOKIE) is None  # used up: the success page deletes it
    shoot(browser, screenshots, "02-installed")

    [visit] = site.fake.calls_to(AUTHORIZE_METHOD)
    assert visit.response["team"] == TEAM_ID
    assert visit.params["client_id"] == CLIENT_ID
    assert [call.status for call in site.fake.calls_to("oauth.v2.access")] == [200]

    # Stored by the server process; read back (tokens decrypted) through the store in this one.
    installation = DjangoInstallationStore(CLIENT_ID).find_installation(enterprise_id=None, team_id=TEAM_ID)
    assert installation is not None
    assert (installation.team_name, installation.bot_user_id, installation.user_id) == (
        TEAM_NAME,
        BOT_USER_ID,
        INSTALLER_ID,
    )
    assert installation.bot_token == site.fake.bot_token(TEAM_ID)
    assert installation.bot_scopes == ["commands", "chat:write"]
    bot = DjangoInstallationStore(CLIENT_ID).find_bot(enterprise_id=None, team_id=TEAM_ID)
    assert bot is not None
    assert bot.bot_token == site.fake.bot_token(TEAM_ID)
    # At rest, the column holds Fernet ciphertext, not the token.
    [raw] = SlackInstallation.objects.filter(team_id=TEAM_ID).values_list("pk", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT bot_token FROM {SlackInstallation._meta.db_table} WHERE id = %s", [raw])
        [(column,)] = cursor.fetchall()
    assert column.startswith("gAAAAA")
    assert "xoxb" not in column


def test_cancelling_at_slack_shows_the_failure_page(site: Site, browser: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By

    site.fake.deny_authorization()  # the user clicks Cancel at Slack
    click_add_to_slack(browser, site)

    wait_for_title(browser, "Installation cancelled")
    assert "error=access_denied" in browser.current_url
    assert text_of(browser, "h1") == "Installation cancelled"
    page = text_of(browser, "main")
    assert "The app was not installed because the installation was cancelled in Slack." in page
    assert "Error code: access_denied" in page
    shoot(browser, screenshots, "03-cancelled")
    assert site.fake.calls_to("oauth.v2.access") == []
    assert not SlackInstallation.objects.exists()

    # "Try again" leads back to the install page, which works.
    browser.find_element(By.LINK_TEXT, "Try again").click()
    wait_for_title(browser, "Add the app to Slack")


@pytest.mark.parametrize(
    ("cookie", "title", "words", "reason"),
    [
        pytest.param(
            None,
            "Start again in this browser",
            "The installation was started in another browser",
            "invalid_browser",
            id="no-state-cookie",
        ),
        pytest.param(
            "bogus",
            "This installation link has expired",
            "The installation link has expired or was already used",
            "invalid_state",
            id="state-nobody-issued",
        ),
    ],
)
def test_a_bogus_callback_shows_the_failure_page(
    site: Site, browser: Any, screenshots: Path, cookie: str | None, title: str, words: str, reason: str
) -> None:
    if cookie is not None:
        # This browser claims the state of the URL below, which the app never issued.
        browser.get(f"{site.url}/slack/install")
        browser.add_cookie({"name": STATE_COOKIE, "value": cookie, "path": "/"})
    browser.get(f"{site.url}/slack/oauth_redirect?code=bogus&state=bogus")

    wait_for_title(browser, title)
    page = text_of(browser, "main")
    assert words in page
    assert "Start again from the install page" in page
    assert f"Error code: {reason}" in page
    # Nothing of Bolt's internals reaches the page.
    assert "Traceback" not in browser.page_source
    assert "Error:" not in browser.page_source
    shoot(browser, screenshots, f"04-bogus-callback-{reason}")
    assert site.fake.calls_to("oauth.v2.access") == []
    assert not SlackInstallation.objects.exists()
