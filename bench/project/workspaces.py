"""The workspaces of the authorization part: installations stored as the OAuth flow would store them.

Each workspace has its own bot (token, bot id, bot user) installed by one user; the requests come
from another user, as most do (Bolt's default then looks up the requesting user's installation too).
The same records answer ``auth.test`` on the fake Slack, so both apps see the same bot ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from slack_sdk.oauth.installation_store import Installation

from .payloads import app_mention_body
from .slack_apps import AUTH_APP_ID, INSTALLER_USER_ID

BOT_SCOPES = ["app_mentions:read", "chat:write", "commands"]


@dataclass(frozen=True)
class Workspace:
    team_id: str
    team_name: str
    bot_user_id: str
    bot_id: str
    bot_token: str = field(repr=False)

    def installation(self) -> Installation:
        return Installation(
            app_id=AUTH_APP_ID,
            team_id=self.team_id,
            team_name=self.team_name,
            bot_token=self.bot_token,
            bot_id=self.bot_id,
            bot_user_id=self.bot_user_id,
            bot_scopes=BOT_SCOPES,
            user_id=INSTALLER_USER_ID,
            installed_at=datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp(),
        )

    def auth_test(self) -> dict[str, Any]:
        """What Slack's ``auth.test`` answers for this workspace's bot token."""
        return {
            "ok": True,
            "url": f"https://bench-{self.team_id.lower()}.slack.com/",
            "team": self.team_name,
            "user": "bench-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def app_mention_body(self) -> str:
        return app_mention_body(self.team_id, self.bot_user_id, f"Ev0{self.team_id}")


def make_workspaces(count: int) -> list[Workspace]:
    """``count`` workspaces with fresh random bot tokens (they live in this run's database only)."""
    return [
        Workspace(
            team_id=f"T0BENCH{number:04d}",
            team_name=f"Bench workspace {number}",
            bot_user_id=f"U0BOT{number:04d}",
            bot_id=f"B0BOT{number:04d}",
            bot_token=f"xoxb-bench-{number:04d}-{secrets.token_hex(12)}",
        )
        for number in range(1, count + 1)
    ]


def auth_test_answers(workspaces: Sequence[Workspace]) -> dict[str, dict[str, Any]]:
    """``auth.test``'s answer by bot token."""
    return {workspace.bot_token: workspace.auth_test() for workspace in workspaces}
