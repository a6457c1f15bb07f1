"""System checks for the ``SLACK_BOLT`` setting and the Bolt app it names.

Every check has a stable ID (``django_slack_bolt.E001`` ...) and a hint; the README lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, reverse
from slack_bolt import App
from slack_bolt.listener.thread_runner import ThreadListenerRunner

from .app_loader import load_app
from .conf import DEFAULTS, SETTING_NAME, unknown_keys
from .exceptions import SlackBoltImproperlyConfigured
from .request_guard import request_verification_secret

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


def _served_app_problems(app: App) -> list[CheckMessage]:
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
    if not isinstance(app.listener_runner, ThreadListenerRunner):
        messages.append(
            Error(
                "The Slack app's listener_runner is not a slack_bolt ThreadListenerRunner.",
                hint="django_slack_bolt runs listeners in threads; remove the custom listener runner.",
                id="django_slack_bolt.E006",
            )
        )
    messages += _oauth_path_problems(app)
    return messages


def _oauth_path_problems(app: App) -> list[CheckMessage]:
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
