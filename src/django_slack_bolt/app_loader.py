"""Resolves the Bolt app named by ``SLACK_BOLT["APP"]`` and the handler that serves it."""

from __future__ import annotations

import functools

from django.utils.module_loading import import_string
from slack_bolt import App

from . import conf
from .exceptions import SlackBoltImproperlyConfigured
from .handler import SlackRequestHandler


def load_app(dotted_path: object) -> App:
    """Import the :class:`~slack_bolt.App` at ``dotted_path``; the error names the setting to fix."""
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
    if not isinstance(app, App):
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["APP"] = {dotted_path!r} is a {type(app).__name__}, '
            "not a slack_bolt.App instance."
        )
    return app


@functools.cache
def get_configured_app() -> App:
    """The app named by ``SLACK_BOLT["APP"]`` (cached until the setting changes)."""
    return load_app(conf.get_setting("APP"))


@functools.cache
def get_configured_handler() -> SlackRequestHandler:
    """The :class:`SlackRequestHandler` serving :func:`get_configured_app` (one per process)."""
    return SlackRequestHandler(get_configured_app())
