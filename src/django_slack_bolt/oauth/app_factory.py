"""Multi-workspace Bolt apps built from ``SLACK_BOLT``: OAuth, ORM stores and authorize wired up.

::

    # myproject/slack.py
    from django_slack_bolt import build_app

    app = build_app()

    @app.event("app_mention")
    def mention(event, say):
        say("Hi!")

    # settings.py
    SLACK_BOLT = {
        "APP": "myproject.slack.app",
        "SIGNING_SECRET": env("SLACK_SIGNING_SECRET"),
        "CLIENT_ID": env("SLACK_CLIENT_ID"),
        "CLIENT_SECRET": env("SLACK_CLIENT_SECRET"),
        "SCOPES": ["app_mentions:read", "chat:write"],
        "TOKEN_ENCRYPTION_KEYS": [env("SLACK_TOKEN_ENCRYPTION_KEYS")],
    }

The app stores installations and OAuth states with the ORM stores, authorizes requests with
:class:`~django_slack_bolt.oauth.authorize.DjangoAuthorize` (no ``auth.test`` per request), renders the
install and callback pages from Django templates, and deletes the right rows on ``app_uninstalled``
and ``tokens_revoked`` (:mod:`django_slack_bolt.oauth.revocation`, org-wide installs included).
:func:`build_async_app` is the same for ``AsyncApp``. Keyword arguments are passed on to ``App(...)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from .. import conf
from ..exceptions import SlackBoltImproperlyConfigured
from .authorize import DjangoAuthorize
from .installation_store import DjangoInstallationStore
from .revocation import register_async_revocation_listeners, register_revocation_listeners
from .state_store import DjangoOAuthStateStore

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

__all__ = ["build_app", "build_async_app", "oauth_settings_kwargs"]


def _required(name: str, environment_variable: str) -> str:
    value = conf.get_setting(name) or os.environ.get(environment_variable)
    if not value:
        raise SlackBoltImproperlyConfigured(
            f'settings.SLACK_BOLT["{name}"] is not set (nor the {environment_variable} environment '
            "variable): a multi-workspace app needs it. "
            "Find it under Basic Information on api.slack.com/apps."
        )
    return str(value)


def oauth_settings_kwargs() -> dict[str, Any]:
    """The keyword arguments of ``OAuthSettings`` / ``AsyncOAuthSettings`` that ``SLACK_BOLT`` gives."""
    client_id = _required("CLIENT_ID", "SLACK_CLIENT_ID")
    kwargs: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": _required("CLIENT_SECRET", "SLACK_CLIENT_SECRET"),
        "scopes": list(conf.get_setting("SCOPES")),
        "user_scopes": list(conf.get_setting("USER_SCOPES")),
        "redirect_uri": conf.get_setting("REDIRECT_URI"),
        "install_path": conf.get_setting("INSTALL_PATH"),
        "redirect_uri_path": conf.get_setting("REDIRECT_URI_PATH"),
        "installation_store": DjangoInstallationStore(client_id),
        "state_store": DjangoOAuthStateStore(int(conf.get_setting("STATE_EXPIRATION_SECONDS"))),
        "state_expiration_seconds": int(conf.get_setting("STATE_EXPIRATION_SECONDS")),
        "token_rotation_expiration_minutes": int(conf.get_setting("TOKEN_ROTATION_EXPIRATION_MINUTES")),
    }
    if conf.get_setting("AUTHORIZATION_URL"):
        kwargs["authorization_url"] = conf.get_setting("AUTHORIZATION_URL")
    return kwargs


def _client_kwargs() -> dict[str, Any]:
    base_url = conf.get_setting("WEB_API_URL")
    return {"base_url": base_url} if base_url else {}


def _authorize_kwargs(oauth_kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "installation_store": oauth_kwargs["installation_store"],
        "client_id": oauth_kwargs["client_id"],
        "client_secret": oauth_kwargs["client_secret"],
        "token_rotation_expiration_minutes": oauth_kwargs["token_rotation_expiration_minutes"],
    }


def _build(
    app_class: type[Any],
    oauth_settings_class: type[Any],
    oauth_flow_class: type[Any],
    authorize_class: type[Any],
    client: Any,
    register_revocation: Callable[[Any, DjangoInstallationStore], None],
    app_kwargs: dict[str, Any],
) -> Any:
    """The app both builders make: only the classes differ between ``App`` and ``AsyncApp``."""
    oauth_kwargs = oauth_settings_kwargs()
    oauth_flow = oauth_flow_class(
        client=client, settings=oauth_settings_class(**oauth_kwargs), app_name=conf.get_setting("APP_NAME")
    )
    app = app_class(
        signing_secret=_required("SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
        client=client,
        oauth_flow=oauth_flow,
        # An Authorize instance (which may return None) is what Bolt checks for at run time.
        authorize=authorize_class(**_authorize_kwargs(oauth_kwargs)),
        **app_kwargs,
    )
    register_revocation(app, oauth_kwargs["installation_store"])
    return app


def build_app(**app_kwargs: Any) -> App:
    """A multi-workspace :class:`~slack_bolt.App` configured by ``SLACK_BOLT``."""
    from .pages import DjangoOAuthFlow

    client = app_kwargs.pop("client", None) or WebClient(**_client_kwargs())
    app: App = _build(
        App,
        OAuthSettings,
        DjangoOAuthFlow,
        DjangoAuthorize,
        client,
        register_revocation_listeners,
        app_kwargs,
    )
    return app


def build_async_app(**app_kwargs: Any) -> AsyncApp:
    """A multi-workspace :class:`~slack_bolt.async_app.AsyncApp` configured by ``SLACK_BOLT``."""
    # Bolt's async side imports aiohttp (the `async` extra): only when an AsyncApp is built.
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from slack_sdk.web.async_client import AsyncWebClient

    from .async_authorize import AsyncDjangoAuthorize
    from .async_pages import AsyncDjangoOAuthFlow

    client = app_kwargs.pop("client", None) or AsyncWebClient(**_client_kwargs())
    app: AsyncApp = _build(
        AsyncApp,
        AsyncOAuthSettings,
        AsyncDjangoOAuthFlow,
        AsyncDjangoAuthorize,
        client,
        register_async_revocation_listeners,
        app_kwargs,
    )
    return app
