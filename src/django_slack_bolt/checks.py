"""System checks for the ``SLACK_BOLT`` setting and the Bolt app it names.

Every check has a stable ID (``django_slack_bolt.E001`` ...) and a hint; the README lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, reverse
from slack_bolt import App
from slack_bolt.listener.thread_runner import ThreadListenerRunner

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
            return [
                Error(
                    str(e),
                    hint="Check the module path and the attribute name, and that the module imports cleanly.",
                    id="django_slack_bolt.E002",
                )
            ]
        return [
            Error(
                str(e),
                hint="The setting must name a module attribute holding a slack_bolt.App, "
                "e.g. app = App(...) in myproject/slack.py.",
                id="django_slack_bolt.E003",
            )
        ]
    return _served_app_problems(app)


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
    messages: list[CheckMessage] = []
    for url_name, configured, option in (
        ("install", oauth_flow.install_path, "install_path"),
        ("oauth_redirect", oauth_flow.redirect_uri_path, "redirect_uri_path"),
    ):
        try:
            served = reverse(f"django_slack_bolt:{url_name}")
        except NoReverseMatch:
            continue  # django_slack_bolt.urls is not included: the project routes by itself
        if served.rstrip("/") != configured.rstrip("/"):
            messages.append(
                Warning(
                    f"django_slack_bolt.urls serves the OAuth {url_name} page at {served}, "
                    f"but the app's OAuthSettings.{option} is {configured}.",
                    hint=f"Set OAuthSettings({option}={served.rstrip('/')!r}) "
                    "or change the include() prefix, so that Slack's redirects reach the page.",
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
    from django.core.cache import caches
    from django.core.cache.backends.base import InvalidCacheBackendError

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
    alias = user_settings.get("AUTHORIZE_CACHE", "default")
    try:
        caches[alias]
    except (InvalidCacheBackendError, TypeError):
        messages.append(
            Error(
                f'settings.{SETTING_NAME}["AUTHORIZE_CACHE"] = {alias!r} is not a cache in settings.CACHES.',
                hint="Name one of settings.CACHES; in production, a cache every worker shares (Redis).",
                id="django_slack_bolt.E009",
            )
        )
    return messages


@register()
def check_authorize_cache_is_shared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Cached authorizations in a cache of each process's own, while the ORM stores are in use.

    Saving, deleting or rotating an installation invalidates the cached authorizations in the cache
    it writes to; other worker processes with their own LocMemCache keep serving what they cached
    (until AUTHORIZE_CACHE_TIMEOUT), revoked tokens included.
    """
    from django.core.cache import caches
    from django.core.cache.backends.base import InvalidCacheBackendError
    from django.core.cache.backends.locmem import LocMemCache

    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping) or not user_settings.get("CLIENT_ID"):
        return []
    alias = user_settings.get("AUTHORIZE_CACHE", "default")
    try:
        cache = caches[alias]
    except (InvalidCacheBackendError, TypeError):
        return []  # django_slack_bolt.E009
    if not isinstance(cache, LocMemCache):
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
    from django.core.cache.backends.base import InvalidCacheBackendError

    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, Mapping) or not user_settings.get("REFUSE_REPLAYS", True):
        return []
    alias = user_settings.get("CLAIMS_CACHE", "default")
    try:
        cache = caches[alias]
    except (InvalidCacheBackendError, TypeError):
        return [
            Error(
                f'settings.{SETTING_NAME}["CLAIMS_CACHE"] = {alias!r} is not a cache in settings.CACHES.',
                hint="Name a cache alias of CACHES (a cache every worker shares, e.g. Redis).",
                id="django_slack_bolt.E009",
            )
        ]
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
