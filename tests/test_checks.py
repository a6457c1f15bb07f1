"""Every system check: its ID, its message and its hint."""

from __future__ import annotations

import importlib
import importlib.util
import socket

import pytest
from django.core.checks import Error, Warning, run_checks
from django.test import override_settings
from django.urls import clear_url_caches

from django_slack_bolt.checks import check_settings


def _ids(messages) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.id for m in messages]


# Django's own model checks may open the database: on SQLite, JSONField asks it whether JSON is supported.
@pytest.mark.django_db
def test_configured_test_app_passes_every_check():
    assert check_settings() == []
    ours = [m.id for m in run_checks() if m.id and m.id.startswith("django_slack_bolt")]
    # The test settings keep replay claims in a LocMemCache, right for the one process the tests run in.
    assert ours == ["django_slack_bolt.W005"]


@override_settings(SLACK_BOLT={})
def test_e001_app_not_set():
    assert check_settings() == [
        Error(
            'settings.SLACK_BOLT["APP"] is not set.',
            hint='Point it at your slack_bolt.App instance, e.g. SLACK_BOLT = {"APP": "myproject.slack.app"}',
            id="django_slack_bolt.E001",
        )
    ]


def test_e001_when_setting_is_missing_altogether(settings):
    del settings.SLACK_BOLT
    assert _ids(check_settings()) == ["django_slack_bolt.E001"]


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        (
            "tests.apps.nowhere.app",
            "There is no module 'tests.apps.nowhere' on the path: check the dotted path in "
            'SLACK_BOLT["APP"] (module path, then the attribute: "myproject.slack.app").',
        ),
        (
            "tests.apps.check_targets.missing_attribute",
            "tests.apps.check_targets imports, but has no 'missing_attribute': "
            "name the module attribute holding the App.",
        ),
        ("nodots", 'Name the module, then the attribute: SLACK_BOLT["APP"] = "myproject.slack.app".'),
    ],
)
def test_e002_app_not_importable(path, hint):
    with override_settings(SLACK_BOLT={"APP": path}):
        [message] = check_settings()
    assert message.id == "django_slack_bolt.E002"
    assert message.msg.startswith(f'settings.SLACK_BOLT["APP"] = {path!r} cannot be imported: ')
    assert message.hint == hint


@override_settings(SLACK_BOLT={"APP": "tests.apps.broken_on_import.app"})
def test_e002_app_module_raises_while_importing():
    [message] = check_settings()
    assert message.id == "django_slack_bolt.E002"
    assert message.msg.startswith(
        "settings.SLACK_BOLT[\"APP\"] = 'tests.apps.broken_on_import.app' cannot be imported: "
        "importing it raised BoltError: "
    )
    assert (
        message.hint
        == "Bolt refused the App's arguments: fix the App(...) call in tests.apps.broken_on_import."
    )


# Modules that fail while they are imported, each for one reason a new project meets, and the start of
# the hint E002 gives for it.
IMPORT_FAILURES = {
    "missing_dependency": (
        "import not_a_package_anyone_installed\n",
        "first_hour_missing_dependency imports 'not_a_package_anyone_installed', which is not installed: "
        "pip install not_a_package_anyone_installed",
    ),
    "unset_variable": (
        "import os\nTOKEN = os.environ['DJANGO_SLACK_BOLT_NEVER_SET']\n",
        "'DJANGO_SLACK_BOLT_NEVER_SET' is missing, probably an environment variable read with os.environ",
    ),
    # Bolt's App(token=...) calls auth.test when it is created; nothing listens on this port.
    "slack_unreachable": (
        "from slack_bolt import App\nfrom slack_sdk import WebClient\n"
        "app = App(signing_secret='s', client=WebClient(token='xoxb-1', base_url='http://127.0.0.1:{port}/'))\n",
        "App(token=...) calls Slack's auth.test when it is created, to verify the token, and Slack could not "
        "be reached.",
    ),
    "syntax_error": ("app = App(\n", "Fix the syntax error in "),
}


@pytest.fixture
def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("name", sorted(IMPORT_FAILURES))
def test_e002_hint_says_why_the_import_failed(name, tmp_path, monkeypatch, unused_port):
    source, hint_start = IMPORT_FAILURES[name]
    module = f"first_hour_{name}"
    (tmp_path / f"{module}.py").write_text(source.replace("{port}", str(unused_port)))
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(SLACK_BOLT={"APP": f"{module}.app"}):
        [message] = check_settings()
    assert message.id == "django_slack_bolt.E002"
    assert message.hint.startswith(hint_start), message.hint
    # The message points at the project's line that failed.
    assert f"{tmp_path / module}.py:" in message.msg, message.msg


@override_settings(SLACK_BOLT={"APP": "tests.apps.check_targets.not_an_app"})
def test_e003_not_a_bolt_app():
    assert check_settings() == [
        Error(
            "settings.SLACK_BOLT[\"APP\"] = 'tests.apps.check_targets.not_an_app' is a dict, "
            "not a slack_bolt.App instance.",
            hint="The setting must name a module attribute holding a slack_bolt.App, "
            "e.g. app = App(...) in myproject/slack.py.",
            id="django_slack_bolt.E003",
        )
    ]


@override_settings(SLACK_BOLT={"APP": 42})
def test_e003_path_is_not_a_string():
    [message] = check_settings()
    assert message.id == "django_slack_bolt.E003"
    assert message.msg == 'settings.SLACK_BOLT["APP"] must be a dotted path string, not int.'


@override_settings(SLACK_BOLT={"APP": "tests.apps.check_targets.no_signing_secret"})
def test_e004_no_signing_secret():
    [message] = check_settings()
    assert message == Error(
        "The Slack app has no signing secret: every request from Slack will be refused with 401.",
        hint="Pass signing_secret=... to App() or set the SLACK_SIGNING_SECRET environment variable "
        "(Slack app settings > Basic Information > Signing Secret).",
        id="django_slack_bolt.E004",
    )


@override_settings(SLACK_BOLT=["tests.apps.slack_app.app"])
def test_e005_setting_not_a_dict():
    assert check_settings() == [
        Error(
            "settings.SLACK_BOLT must be a dict, not list.",
            hint='Use a dict, e.g. SLACK_BOLT = {"APP": "myproject.slack.app"}',
            id="django_slack_bolt.E005",
        )
    ]


@override_settings(SLACK_BOLT={"APP": "tests.apps.slack_app.app", "FASTACK": True, "app": "x"})
def test_e005_unknown_keys_are_rejected():
    assert check_settings() == [
        Error(
            "Unknown key(s) in settings.SLACK_BOLT: FASTACK, app.",
            hint="Valid keys are: APP, APP_NAME, AUTHORIZATION_URL, AUTHORIZE_CACHE, "
            "AUTHORIZE_CACHE_TIMEOUT, CLAIMS_CACHE, CLIENT_ID, CLIENT_SECRET, FAST_ACK, INSTALL_PATH, "
            "LAZY_LISTENER_WORKERS, MAX_BODY_SIZE, REDIRECT_URI, REDIRECT_URI_PATH, REFUSE_REPLAYS, SCOPES, "
            "SIGNING_SECRET, STATE_EXPIRATION_SECONDS, TOKEN_ENCRYPTION_KEYS, "
            "TOKEN_ROTATION_EXPIRATION_MINUTES, USER_SCOPES, WEB_API_URL.",
            id="django_slack_bolt.E005",
        )
    ]


@override_settings(SLACK_BOLT={"APP": "tests.apps.check_targets.custom_runner"})
def test_e006_listener_runner_not_thread_based():
    assert check_settings() == [
        Error(
            "The Slack app's listener_runner is not a slack_bolt ThreadListenerRunner.",
            hint="django_slack_bolt runs listeners in threads; remove the custom listener runner.",
            id="django_slack_bolt.E006",
        )
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"FAST_ACK": "yes"}, 'settings.SLACK_BOLT["FAST_ACK"] must be True or False.'),
        (
            {"MAX_BODY_SIZE": 0},
            'settings.SLACK_BOLT["MAX_BODY_SIZE"] must be a positive number of bytes or None.',
        ),
        (
            {"MAX_BODY_SIZE": "1mb"},
            'settings.SLACK_BOLT["MAX_BODY_SIZE"] must be a positive number of bytes or None.',
        ),
    ],
)
def test_e007_bad_values(extra, message):
    with override_settings(SLACK_BOLT={"APP": "tests.apps.slack_app.app", **extra}):
        [error] = check_settings()
    assert (error.id, error.msg) == ("django_slack_bolt.E007", message)


@override_settings(SLACK_BOLT={"APP": "tests.apps.check_targets.unverified"})
def test_w001_request_verification_disabled():
    assert check_settings() == [
        Warning(
            "The Slack app does not verify request signatures: anyone can post to its events URL.",
            hint="Remove request_verification_enabled=False from App() outside of tests.",
            id="django_slack_bolt.W001",
        )
    ]


def test_w002_oauth_paths_not_where_the_urls_serve_them():
    import django_slack_bolt.urls as package_urls

    from . import oauth_urls

    try:
        with override_settings(
            SLACK_BOLT={"APP": "tests.apps.check_targets.oauth_elsewhere"}, ROOT_URLCONF="tests.oauth_urls"
        ):
            importlib.reload(package_urls)
            importlib.reload(oauth_urls)
            clear_url_caches()
            messages = check_settings()
    finally:
        importlib.reload(package_urls)
        importlib.reload(oauth_urls)
        clear_url_caches()
    assert messages == [
        Warning(
            "django_slack_bolt.urls serves the OAuth install page at /slack/install, "
            "but the app's install_path is /bot/install.",
            hint="Set OAuthSettings(install_path='/slack/install'), or change the include() prefix so that "
            "it serves /bot/install: Slack's redirects go to the configured path.",
            id="django_slack_bolt.W002",
        ),
        Warning(
            "django_slack_bolt.urls serves the OAuth oauth_redirect page at /slack/oauth_redirect, "
            "but the app's redirect_uri_path is /bot/oauth_redirect.",
            hint="Set OAuthSettings(redirect_uri_path='/slack/oauth_redirect'), or change the include() "
            "prefix so that it serves /bot/oauth_redirect: Slack's redirects go to the configured path.",
            id="django_slack_bolt.W002",
        ),
    ]


@pytest.mark.django_db
def test_checks_run_through_manage_py_check(capsys):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with override_settings(SLACK_BOLT={}), pytest.raises(SystemCheckError, match=r"django_slack_bolt\.E001"):
        call_command("check")


@override_settings(ROOT_URLCONF="tests.apps.no_slash_urls")
def test_e011_include_prefix_without_its_slash():
    from django_slack_bolt.checks import check_include_prefix

    clear_url_caches()
    try:
        assert check_include_prefix() == [
            Error(
                "django_slack_bolt.urls is included at 'slack', with no trailing slash: its URLs run into "
                "the prefix (/slackevents instead of /slack/events).",
                hint='End the prefix with a slash: path("slack/", include("django_slack_bolt.urls")).',
                id="django_slack_bolt.E011",
            )
        ]
    finally:
        clear_url_caches()


def test_e011_not_raised_for_the_documented_include():
    from django_slack_bolt.checks import check_include_prefix

    assert check_include_prefix() == []


@pytest.mark.parametrize(
    ("backend", "module", "install"),
    [
        ("django.core.cache.backends.memcached.PyLibMCCache", "pylibmc", "pylibmc"),
        # A third-party backend whose own module does not import.
        ("django_redis.cache.RedisCache", "django_redis", "django-redis"),
    ],
)
def test_e010_cache_backend_without_its_client_library(backend, module, install):
    from django_slack_bolt.checks import check_claims_cache_is_shared, check_multi_workspace_settings

    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "slack": {"BACKEND": backend},
    }
    slack_bolt = {"APP": "tests.apps.slack_app.app", "AUTHORIZE_CACHE": "slack", "CLAIMS_CACHE": "slack"}
    with override_settings(CACHES=caches, SLACK_BOLT=slack_bolt):
        messages = check_multi_workspace_settings() + check_claims_cache_is_shared()
    # Reported once for the alias, though two settings name it.
    assert messages == [
        Error(
            f"settings.CACHES['slack'] ({backend}), used as SLACK_BOLT[\"AUTHORIZE_CACHE\"], needs the "
            f"{module!r} module, which is not installed: every request that uses the cache would fail.",
            hint=f"pip install {install}",
            id="django_slack_bolt.E010",
        )
    ]


@pytest.mark.django_db
def test_w006_migrations_not_applied():
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from django_slack_bolt.checks import check_migrations_applied

    assert check_migrations_applied(databases=["default"]) == []
    # Only a database check: plain `manage.py check` does not open the database.
    assert check_migrations_applied() == []
    MigrationRecorder(connection).record_unapplied("django_slack_bolt", "0001_initial")
    assert check_migrations_applied(databases=["default"]) == [
        Warning(
            "The 'default' database lacks django_slack_bolt's migration(s) 0001_initial: requests that read "
            "installations or OAuth states answer 503 until they are applied.",
            hint="Run: python manage.py migrate django_slack_bolt --database default",
            id="django_slack_bolt.W006",
        )
    ]
