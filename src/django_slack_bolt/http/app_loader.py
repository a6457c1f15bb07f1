"""Resolves the Bolt app named by ``SLACK_BOLT["APP"]`` and the handler that serves it.

The app is a ``slack_bolt.App`` (served by sync views) or a ``slack_bolt.async_app.AsyncApp`` (served by
async views, under ASGI). Bolt's async side is only imported for an ``AsyncApp``: it needs ``aiohttp``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from slack_bolt import App

from .. import conf
from ..exceptions import SlackBoltImproperlyConfigured
from .bolt_app import is_async_app
from .sync_handler import SlackRequestHandler

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from .async_handler import AsyncSlackRequestHandler


def load_app(dotted_path: object) -> App | AsyncApp:
    """Import the ``App`` or ``AsyncApp`` at ``dotted_path``; the error names the setting to fix."""
    if not dotted_path:
        raise SlackBoltImproperlyConfigured(
            'settings.SLACK_BOLT["APP"] is not set. Set it to the dotted path of your slack_bolt.App, '
            'e.g. SLACK_BOLT = {"APP": "myproject.slack.app"}.'
        )
    if not isinstance(dotted_path, str):
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] must be a dotted path string, not {type(dotted_path).__name__}.'
        )
    try:
        app = import_string(dotted_path)
    except ImportError as e:
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {dotted_path!r} cannot be imported: {e}'
        ) from e
    except Exception as e:
        # The module exists but fails while it runs, e.g. Bolt refusing an App without a token.
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {dotted_path!r} cannot be imported: '
            f"importing it raised {type(e).__name__}: {e}"
        ) from e
    if not isinstance(app, App) and not is_async_app(app):
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {dotted_path!r} is a {type(app).__name__}, '
            "not a slack_bolt.App instance."
        )
    return app


@functools.cache
def get_configured_app() -> App | AsyncApp:
    """The app named by ``SLACK_BOLT["APP"]`` (cached until the setting changes)."""
    return load_app(conf.get_setting("APP"))


def configured_app_is_async() -> bool:
    """Whether ``SLACK_BOLT["APP"]`` names an ``AsyncApp`` (served by the async views)."""
    return is_async_app(get_configured_app())


@functools.cache
def get_configured_handler() -> SlackRequestHandler:
    """The :class:`SlackRequestHandler` serving :func:`get_configured_app` (one per process)."""
    app = get_configured_app()
    if not isinstance(app, App):
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {conf.get_setting("APP")!r} is an AsyncApp, which the sync '
            "views cannot serve: use django_slack_bolt.AsyncSlackEventsView (django_slack_bolt.urls picks it "
            "by itself) or get_configured_async_handler()."
        )
    return SlackRequestHandler(app)


@functools.cache
def get_configured_async_handler() -> AsyncSlackRequestHandler:
    """The :class:`~django_slack_bolt.http.async_handler.AsyncSlackRequestHandler` serving
    :func:`get_configured_app` (one per process)."""
    app = get_configured_app()
    if not is_async_app(app):
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {conf.get_setting("APP")!r} is a slack_bolt.App, which the '
            "async views cannot serve: use django_slack_bolt.SlackEventsView (django_slack_bolt.urls picks "
            "it by itself) or make the app a slack_bolt.async_app.AsyncApp."
        )
    from .async_handler import AsyncSlackRequestHandler

    return AsyncSlackRequestHandler(app)


@receiver(setting_changed)
def _forget_app_on_change(*, setting: str, **kwargs: Any) -> None:
    # The configured app and its handlers (their body-size limit included) are made from the settings,
    # so they go with them (override_settings).
    if setting in (conf.SETTING_NAME, "DATA_UPLOAD_MAX_MEMORY_SIZE"):
        get_configured_app.cache_clear()
        get_configured_handler.cache_clear()
        get_configured_async_handler.cache_clear()
