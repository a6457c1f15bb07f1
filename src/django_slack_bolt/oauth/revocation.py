"""Listeners that delete stored installations on ``app_uninstalled`` and ``tokens_revoked``.

Bolt's own (``App.enable_token_revocation_listeners``) delete by the event's ``team_id``. For an
org-wide install that is the workspace the event came through, while the installation is stored
for the org (``team_id`` None), so Bolt's listeners delete nothing there. These pass ``team_id`` None
when the event belongs to an org-wide install, and are otherwise Bolt's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.installation_store import InstallationStore

from .installation_store import lookup_team_id

__all__ = ["register_async_revocation_listeners", "register_revocation_listeners"]

logger = logging.getLogger("django_slack_bolt.oauth")


def _workspace(context: Mapping[str, Any]) -> dict[str, str | None]:
    team_id = lookup_team_id(context.get("team_id"), context.get("is_enterprise_install"))
    return {"enterprise_id": context.get("enterprise_id"), "team_id": team_id}


def _revoked(event: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The user ids whose tokens were revoked, and whether the bot's were.

    Slack sends ``{"tokens": {"oauth": ["U1"], "bot": ["B1"]}}``; anything else revokes nothing (and
    is logged), never one user id per character of a string.
    """
    tokens = event.get("tokens")
    if not isinstance(tokens, Mapping):
        logger.warning("Ignored a tokens_revoked event whose 'tokens' is not an object")
        return [], False
    oauth, bot = tokens.get("oauth") or [], tokens.get("bot") or []
    if not isinstance(oauth, list) or not all(isinstance(user_id, str) for user_id in oauth):
        logger.warning("Ignored the user tokens of a tokens_revoked event: 'oauth' is not a list of ids")
        oauth = []
    if not isinstance(bot, list):
        logger.warning("Ignored the bot tokens of a tokens_revoked event: 'bot' is not a list of ids")
        bot = []
    return oauth, bool(bot)


def register_revocation_listeners(app: Any, store: InstallationStore) -> None:
    """Register the listeners on a :class:`slack_bolt.App` whose installations are in ``store``."""

    def tokens_revoked(event: dict[str, Any], context: Any) -> None:
        user_ids, bot = _revoked(event)
        for user_id in user_ids:
            store.delete_installation(**_workspace(context), user_id=user_id)
        if bot:
            store.delete_bot(**_workspace(context))

    def app_uninstalled(context: Any) -> None:
        store.delete_all(**_workspace(context))

    app.event("tokens_revoked")(tokens_revoked)
    app.event("app_uninstalled")(app_uninstalled)


def register_async_revocation_listeners(app: Any, store: AsyncInstallationStore) -> None:
    """The same for a :class:`slack_bolt.async_app.AsyncApp`."""

    async def tokens_revoked(event: dict[str, Any], context: Any) -> None:
        user_ids, bot = _revoked(event)
        for user_id in user_ids:
            await store.async_delete_installation(**_workspace(context), user_id=user_id)
        if bot:
            await store.async_delete_bot(**_workspace(context))

    async def app_uninstalled(context: Any) -> None:
        await store.async_delete_all(**_workspace(context))

    app.event("tokens_revoked")(tokens_revoked)
    app.event("app_uninstalled")(app_uninstalled)
