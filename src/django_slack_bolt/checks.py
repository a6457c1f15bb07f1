"""System checks for the ``SLACK_BOLT`` setting and the Bolt app it names.

Every check has a stable ID (``django_slack_bolt.E001`` ...) and a hint; the README lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.listener.thread_runner import ThreadListenerRunner

from . import conf
from .conf import DEFAULTS, SETTING_NAME, unknown_keys
from .exceptions import SlackBoltImproperlyConfigured
from .http.app_loader import load_app
from .http.bolt_app import is_async_app, request_verification_secret

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

SETTINGS_EXAMPLE = 'SLACK_BOLT = {"APP": "myproject.slack.app"}'


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ``SLACK_BOLT`` dict itself, then the app it names."""
    user_settings = getattr(settings, SETTING_NAME, None)
    if user_settings is None:
        user_settings = {}
    if not isinstance(user_settings, Mapping):
        return [
            Error(
                f"settings.{SETTING_NAME} must be a dict, not {type(user_settings).__name__}.",
                hint=f"Use a dict, e.g. {SETTINGS_EXAMPLE}",
                id="django_slack_bolt.E005",
            )
        ]
    messages: list[CheckMessage] = []
    unknown = unknown_keys(user_settings)
    if unknown:
        messages.append(
            Error(
                f"Unknown key(s) in settings.{SETTING_NAME}: {', '.join(unknown)}.",
                hint=f"Valid keys are: {', '.join(sorted(DEFAULTS))}.",
                id="django_slack_bolt.E005",
            )
        )
    messages += _value_problems(user_settings)
    messages += _app_problems(user_settings.get("APP"))
    return messages


def _value_problems(user_settings: Mapping[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if "FAST_ACK" in user_settings and not isinstance(user_settings["FAST_ACK"], bool):
        messages.append(
            Error(
                f'settings.{SETTING_NAME}["FAST_ACK"] must be True or False.',
                hint="Leave it out to answer Slack as soon as ack() is called (the default).",
                id="django_slack_bolt.E007",
            )
        )
    workers = user_settings.get("LAZY_LISTENER_WORKERS", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
        messages.append(
            Error(
                f'settings.{SETTING_NAME}["LAZY_LISTENER_WORKERS"] must be a positive whole number.',
                hint="Leave it out for 10 lazy listeners at once per process.",
                id="django_slack_bolt.E007",
            )
        )
    size = user_settings.get("MAX_BODY_SIZE")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        messages.append(
            Error(
                f'settings.{SETTING_NAME}["MAX_BODY_SIZE"] must be a positive number of bytes or None.',
                hint="Leave it out to use Django's DATA_UPLOAD_MAX_MEMORY_SIZE.",
                id="django_slack_bolt.E007",
            )
        )
    return messages


def _app_problems(dotted_path: object) -> list[CheckMessage]:
    if not dotted_path:
        return [
            Error(
                f'settings.{SETTING_NAME}["APP"] is not set.',
                hint=f"Point it at your slack_bolt.App instance, e.g. {SETTINGS_EXAMPLE}",
                id="django_slack_bolt.E001",
            )
        ]
    try:
        app = load_app(dotted_path)
    except SlackBoltImproperlyConfigured as e:
        if e.__cause__ is not None:  # importing the module failed
            return [import_failure(str(dotted_path), e.__cause__, str(e))]
        return [
            Error(
                str(e),
                hint="The setting must name a module attribute holding a slack_bolt.App, "
                "e.g. app = App(...) in myproject/slack.py.",
                id="django_slack_bolt.E003",
            )
        ]
    return _served_app_problems(app)


def import_failure(dotted_path: str, cause: BaseException, message: str) -> Error:
    """E002 for an app module that did not import, with a hint for the reason it did not."""
    where = _raised_at(cause)
    return Error(
        f"{message}{f' (at {where})' if where else ''}",
        hint=_import_hint(dotted_path, cause),
        id="django_slack_bolt.E002",
    )


# Import names whose PyPI distribution (or our extra) differs from the name.
_INSTALL_HINTS = {
    "aiohttp": '"django-slack-bolt[async]" (an AsyncApp needs aiohttp)',
    "psycopg": '"django-slack-bolt[postgres]"',
    "django_redis": "django-redis",
}


def _import_hint(dotted_path: str, cause: BaseException) -> str:
    module_path = dotted_path.rpartition(".")[0]
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        top = cause.name.partition(".")[0]
        if module_path == cause.name or module_path.startswith(f"{cause.name}."):
            return (
                f"There is no module {cause.name!r} on the path: check the dotted path in "
                'SLACK_BOLT["APP"] (module path, then the attribute: "myproject.slack.app").'
            )
        install = _INSTALL_HINTS.get(top, top)
        return f"{module_path} imports {cause.name!r}, which is not installed: pip install {install}"
    if isinstance(cause, ImportError) and "look like a module path" in str(cause):
        return 'Name the module, then the attribute: SLACK_BOLT["APP"] = "myproject.slack.app".'
    if isinstance(cause, ImportError) and "does not define" in str(cause):
        attribute = dotted_path.rpartition(".")[2]
        return f"{module_path} imports, but has no {attribute!r}: name the module attribute holding the App."
    if isinstance(cause, KeyError) and cause.args:
        return (
            f"{cause.args[0]!r} is missing, probably an environment variable read with os.environ[...]: "
            "set it, or read it with os.environ.get() and a default for commands that do not serve Slack."
        )
    if _is_network_failure(cause):
        return (
            "App(token=...) calls Slack's auth.test when it is created, to verify the token, and Slack could "
            "not be reached. Where Slack is out of reach (CI, a build step, offline), pass "
            "token_verification_enabled=False to App(); in tests, the test kit answers auth.test "
            "(docs/testing.md)."
        )
    if isinstance(cause, BoltError) and "auth.test" in str(cause):
        return "Slack refused the app's token when App() verified it: check the token (SLACK_BOT_TOKEN)."
    if isinstance(cause, BoltError):
        return "Bolt refused the App's arguments: fix the App(...) call in " + module_path + "."
    if isinstance(cause, SyntaxError):
        return f"Fix the syntax error in {cause.filename}, line {cause.lineno}."
    return f"Fix the error {module_path} raises while it is imported (run: python -c 'import {module_path}')."


def _is_network_failure(error: BaseException) -> bool:
    import socket
    from urllib.error import URLError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:  # the error or what it came from
        if isinstance(current, (URLError, socket.timeout, ConnectionError, socket.gaierror)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _raised_at(error: BaseException) -> str | None:
    """Where in the project's own code ``error`` was raised: the innermost frame outside of the
    installed packages and the standard library."""
    import sysconfig
    import traceback

    library = tuple(
        path for path in {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    )
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if not frame.filename.startswith(library) and not frame.filename.startswith("<"):
            found = f"{frame.filename}:{frame.lineno}"
    if isinstance(error, SyntaxError) and error.filename:
        found = f"{error.filename}:{error.lineno}"
    return found


def _served_app_problems(app: App | AsyncApp) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    secret = request_verification_secret(app)
    if secret == "":
        messages.append(
            Error(
                "The Slack app has no signing secret: every request from Slack will be refused with 401.",
                hint="Pass signing_secret=... to App() or set the SLACK_SIGNING_SECRET environment variable "
                "(Slack app settings > Basic Information > Signing Secret).",
                id="django_slack_bolt.E004",
            )
        )
    elif secret is None:
        messages.append(
            Warning(
                "The Slack app does not verify request signatures: anyone can post to its events URL.",
                hint="Remove request_verification_enabled=False from App() outside of tests.",
                id="django_slack_bolt.W001",
            )
        )
    if isinstance(app, App) and not isinstance(app.listener_runner, ThreadListenerRunner):
        messages.append(
            Error(
                "The Slack app's listener_runner is not a slack_bolt ThreadListenerRunner.",
                hint="django_slack_bolt runs listeners in threads; remove the custom listener runner.",
                id="django_slack_bolt.E006",
            )
        )
    messages += _oauth_path_problems(app)
    return messages


def _oauth_path_problems(app: App | AsyncApp) -> list[CheckMessage]:
    oauth_flow = app.oauth_flow
    if oauth_flow is None:
        return []
    if check_include_prefix():
        return []  # django_slack_bolt.E011: fixing the prefix fixes the paths
    # Apps of build_app() take their paths from SLACK_BOLT; others from their own OAuthSettings.
    from_settings = bool(conf.get_settings().get("CLIENT_ID"))
    messages: list[CheckMessage] = []
    for url_name, configured, option, key in (
        ("install", oauth_flow.install_path, "install_path", "INSTALL_PATH"),
        ("oauth_redirect", oauth_flow.redirect_uri_path, "redirect_uri_path", "REDIRECT_URI_PATH"),
    ):
        try:
            served = reverse(f"django_slack_bolt:{url_name}")
        except NoReverseMatch:
            continue  # django_slack_bolt.urls is not included: the project routes by itself
        served = served.rstrip("/")
        if served != configured.rstrip("/"):
            fix = (
                f"SLACK_BOLT[{key!r}] = {served!r}"
                if from_settings
                else f"OAuthSettings({option}={served!r})"
            )
            messages.append(
                Warning(
                    f"django_slack_bolt.urls serves the OAuth {url_name} page at {served}, "
                    f"but the app's {option} is {configured}.",
                    hint=f"Set {fix}, or change the include() prefix so that it serves {configured}: "
                    "Slack's redirects go to the configured path.",
                    id="django_slack_bolt.W002",
                )
            )
    return messages


@register()
def check_async_app_served_under_asgi(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An ``AsyncApp`` in a project that does not say it is served under ASGI (``ASGI_APPLICATION``).

    Under a WSGI server Django runs each async view in an event loop of its own, closed once the
    response is made: listeners still running after ``ack()`` and lazy listeners are cancelled there.
    Nothing at check time tells which server will run the project, so the rule is the setting that
    ASGI servers' Django integrations read; projects served by ``uvicorn myproject.asgi:application``
    set it to say so. The converse (an ``App`` under ASGI) needs no check: Django runs sync views in a
    thread of their own per request, and Bolt's listener threads work as under WSGI.
    """
    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping):
        return []  # django_slack_bolt.E005
    try:
        app = load_app(user_settings.get("APP"))
    except SlackBoltImproperlyConfigured:
        return []  # django_slack_bolt.E001-E003
    if not is_async_app(app) or getattr(settings, "ASGI_APPLICATION", None):
        return []
    wsgi_application = getattr(settings, "WSGI_APPLICATION", None)
    served = f"WSGI_APPLICATION = {wsgi_application!r}" if wsgi_application else "no WSGI_APPLICATION either"
    return [
        Warning(
            "The Slack app is an AsyncApp, but settings.ASGI_APPLICATION is not set "
            f"({served}): under a WSGI server each request's event loop is closed with its response, "
            "cancelling listeners that are still running after ack() and lazy listeners.",
            hint="Serve the project with an ASGI server (e.g. uvicorn myproject.asgi:application) and set "
            'ASGI_APPLICATION = "myproject.asgi.application" to say so; under WSGI, use a slack_bolt.App.',
            id="django_slack_bolt.W003",
        )
    ]


@register()
def check_token_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``TOKEN_ENCRYPTION_KEYS``: required once the ORM stores keep tokens, and valid when set.

    The stores are in use when ``SLACK_BOLT`` configures OAuth (``CLIENT_ID``) or the configured app
    keeps its installations in a :class:`~django_slack_bolt.oauth.installation_store.DjangoInstallationStore`.
    """
    from .oauth.encryption import GENERATE_HINT, key_problems
    from .oauth.installation_store import DjangoInstallationStore

    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping):
        return []  # django_slack_bolt.E005
    keys = user_settings.get("TOKEN_ENCRYPTION_KEYS")
    if not keys:
        needed = bool(user_settings.get("CLIENT_ID"))
        if not needed:
            try:
                app = load_app(user_settings.get("APP"))
            except SlackBoltImproperlyConfigured:
                app = None  # django_slack_bolt.E001-E003
            needed = app is not None and isinstance(app.installation_store, DjangoInstallationStore)
        if not needed:
            return []
    problem = key_problems(keys)
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint=f'{GENERATE_HINT}, and set SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"] = [that key] '
            "(read it from the environment; never commit it).",
            id="django_slack_bolt.E008",
        )
    ]


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@register()
def check_multi_workspace_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The values of the keys :func:`django_slack_bolt.oauth.app_factory.build_app` reads."""
    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping):
        return []  # django_slack_bolt.E005
    problems: list[tuple[str, str]] = []
    for key in ("SCOPES", "USER_SCOPES"):
        scopes = user_settings.get(key, ())
        if (
            isinstance(scopes, str)
            or not isinstance(scopes, (list, tuple))
            or not all(isinstance(scope, str) for scope in scopes)
        ):
            problems.append(("must be a list of scope names, e.g. ['chat:write']", key))
    for key in ("STATE_EXPIRATION_SECONDS", "TOKEN_ROTATION_EXPIRATION_MINUTES"):
        if key in user_settings and not _is_positive_int(user_settings[key]):
            problems.append(("must be a positive whole number", key))
    timeout = user_settings.get("AUTHORIZE_CACHE_TIMEOUT", 300)
    if timeout is not None and not _is_positive_int(timeout):
        problems.append(
            (
                "must be a positive number of seconds, or None to keep entries until invalidated",
                "AUTHORIZE_CACHE_TIMEOUT",
            )
        )
    for key in ("INSTALL_PATH", "REDIRECT_URI_PATH"):
        path = user_settings.get(key, "/")
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(("must be a path starting with /", key))
    for key in (
        "APP_NAME",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "SIGNING_SECRET",
        "REDIRECT_URI",
        "AUTHORIZATION_URL",
        "WEB_API_URL",
    ):
        if user_settings.get(key) is not None and not isinstance(user_settings[key], str):
            problems.append(("must be a string (or None)", key))
    messages: list[CheckMessage] = [
        Error(
            f'settings.{SETTING_NAME}["{key}"] {what}.',
            hint=f"Leave {key} out to use the default.",
            id="django_slack_bolt.E007",
        )
        for what, key in problems
    ]
    problem = cache_problem("AUTHORIZE_CACHE", user_settings.get("AUTHORIZE_CACHE", "default"))
    if problem is not None:
        messages.append(problem)
    return messages


# The client library each of Django's cache backends imports when it first talks to its server, and
# what to install for it.
_CACHE_CLIENTS = {
    "django.core.cache.backends.redis.RedisCache": ("redis", '"django-slack-bolt[redis]" (or redis)'),
    "django.core.cache.backends.memcached.PyMemcacheCache": ("pymemcache", "pymemcache"),
    "django.core.cache.backends.memcached.PyLibMCCache": ("pylibmc", "pylibmc"),
}


def cache_problem(key: str, alias: object) -> Error | None:
    """E009 when ``SLACK_BOLT[key]`` names no cache of ``CACHES``; E010 when that cache cannot work
    because its backend or the backend's client library does not import (every request using it would
    fail)."""
    import importlib.util

    from django.core.cache import caches
    from django.core.cache.backends.base import InvalidCacheBackendError

    configured = getattr(settings, "CACHES", {})
    if not isinstance(alias, str) or alias not in configured:
        return Error(
            f'settings.{SETTING_NAME}["{key}"] = {alias!r} is not a cache in settings.CACHES.',
            hint="Name one of settings.CACHES; in production, a cache every worker shares (Redis).",
            id="django_slack_bolt.E009",
        )
    backend = str(configured[alias].get("BACKEND", ""))
    missing: str | None = None
    install = ""
    if backend in _CACHE_CLIENTS:
        module, install = _CACHE_CLIENTS[backend]
        missing = module if importlib.util.find_spec(module) is None else None
    if missing is None:
        try:
            caches[alias]
        except (ImportError, InvalidCacheBackendError) as error:
            # InvalidCacheBackendError: the backend's own module did not import (its cause says why).
            cause = error.__cause__ if isinstance(error.__cause__, ImportError) else error
            missing = getattr(cause, "name", None) or str(cause)
            install = _INSTALL_HINTS.get(missing.partition(".")[0], missing.partition(".")[0])
        except Exception:  # a backend's own configuration problem: Django reports it
            return None
    if missing is None:
        return None
    return Error(
        f'settings.CACHES[{alias!r}] ({backend}), used as SLACK_BOLT["{key}"], needs the {missing!r} '
        "module, which is not installed: every request that uses the cache would fail.",
        hint=f"pip install {install}",
        id="django_slack_bolt.E010",
    )


@register()
def check_authorize_cache_is_shared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Cached authorizations in a cache of each process's own, while the ORM stores are in use.

    Saving, deleting or rotating an installation invalidates the cached authorizations in the cache
    it writes to; other worker processes with their own LocMemCache keep serving what they cached
    (until AUTHORIZE_CACHE_TIMEOUT), revoked tokens included.
    """
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping) or not user_settings.get("CLIENT_ID"):
        return []
    alias = user_settings.get("AUTHORIZE_CACHE", "default")
    if cache_problem("AUTHORIZE_CACHE", alias) is not None:
        return []  # django_slack_bolt.E009 / E010
    if not isinstance(caches[alias], LocMemCache):
        return []
    return [
        Warning(
            f"Authorizations are cached in {alias!r}, a LocMemCache: each worker process has its own, "
            "so a re-install, uninstall or token rotation handled by one worker is not seen by the "
            f'others until their entries expire (SLACK_BOLT["AUTHORIZE_CACHE_TIMEOUT"]).',
            hint='Point SLACK_BOLT["AUTHORIZE_CACHE"] at a cache every worker shares (Redis, Memcached or '
            "the database cache), or ignore this when a single process serves the app.",
            id="django_slack_bolt.W004",
        )
    ]


# Caches each process keeps to itself (or none at all): a claim there is not seen by other workers.
_UNSHARED_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@register()
def check_claims_cache_is_shared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Replays are refused through claims in CLAIMS_CACHE; a cache other processes cannot see lets a
    replay through any other worker (a DummyCache, through every one)."""
    from django.core.cache import caches

    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping) or not user_settings.get("REFUSE_REPLAYS", True):
        return []
    alias = user_settings.get("CLAIMS_CACHE", "default")
    problem = cache_problem("CLAIMS_CACHE", alias)
    if problem is not None:
        # A cache AUTHORIZE_CACHE names too has had its problem reported already.
        return [] if alias == user_settings.get("AUTHORIZE_CACHE", "default") else [problem]
    cache = caches[alias]
    backend = f"{type(cache).__module__}.{type(cache).__qualname__}"
    if backend not in _UNSHARED_CACHES:
        return []
    return [
        Warning(
            f"Replays of signed requests are refused through claims in the {alias!r} cache, a "
            f"{type(cache).__name__}: other worker processes do not see its claims, so a replay sent to "
            "another worker runs again.",
            hint='Point SLACK_BOLT["CLAIMS_CACHE"] at a cache every worker shares (Redis, Memcached or the '
            "database cache), or ignore this when a single process serves the app.",
            id="django_slack_bolt.W005",
        )
    ]


def _include_prefixes(patterns: Any, prefix: str = "") -> list[str]:
    """The URL prefixes at which the project's URLconf includes ``django_slack_bolt.urls``."""
    from django.urls import URLResolver

    found: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, URLResolver):
            continue
        here = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if pattern.app_name == "django_slack_bolt":
            found.append(here)
        else:
            found += _include_prefixes(pattern.url_patterns, here)
    return found


@register(Tags.urls)
def check_include_prefix(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``path("slack", include("django_slack_bolt.urls"))``: without its slash, the prefix runs into
    the patterns' own names, and the app is served at ``/slackevents``."""
    from django.urls import get_resolver

    try:
        prefixes = _include_prefixes(get_resolver().url_patterns)
    except Exception:  # a URLconf that does not load: Django's own checks report it
        return []
    return [
        Error(
            f"django_slack_bolt.urls is included at {prefix!r}, with no trailing slash: its URLs run into "
            f"the prefix (/{prefix}events instead of /{prefix}/events).",
            hint=f'End the prefix with a slash: path("{prefix}/", include("django_slack_bolt.urls")).',
            id="django_slack_bolt.E011",
        )
        for prefix in prefixes
        if prefix and not prefix.endswith("/")
    ]


@register(Tags.database)
def check_migrations_applied(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """django_slack_bolt's migrations not applied to a database its models migrate to: every request that
    reads an installation or a state would fail (it answers 503). Tagged ``database``: ``check
    --database default`` and ``migrate`` run it."""
    from django.db import DatabaseError, connections, router
    from django.db.migrations.loader import MigrationLoader

    messages: list[CheckMessage] = []
    for alias in databases or ():
        if not router.allow_migrate(alias, "django_slack_bolt"):
            continue
        try:
            loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
        except DatabaseError:
            continue  # the database does not answer: Django's own checks and commands say so
        missing = sorted(
            name
            for app_label, name in loader.graph.nodes
            if app_label == "django_slack_bolt" and (app_label, name) not in loader.applied_migrations
        )
        if missing:
            messages.append(
                Warning(
                    f"The {alias!r} database lacks django_slack_bolt's migration(s) {', '.join(missing)}: "
                    "requests that read installations or OAuth states answer 503 until they are applied.",
                    hint=f"Run: python manage.py migrate django_slack_bolt --database {alias}",
                    id="django_slack_bolt.W006",
                )
            )
    return messages
