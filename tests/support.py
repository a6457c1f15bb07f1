"""What the adapter tests need beyond the public test kit (``django_slack_bolt.testing``).

Requests are built, signed and posted with the kit; this module only makes apps to serve them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore

# The configured app's (SLACK_BOLT["APP"]) secret and authorization: a request the tests sign with
# SIGNING_SECRET is valid for that app and for every app make_app() builds.
from tests.apps.slack_app import SIGNING_SECRET, authorize

__all__ = ["SIGNING_SECRET", "authorize", "make_app", "make_oauth_app"]


def make_app(**kwargs: Any) -> App:
    """A Bolt app with no Web API dependency: static authorization, the suite's signing secret."""
    kwargs.setdefault("signing_secret", SIGNING_SECRET)
    kwargs.setdefault("authorize", authorize)
    return App(**kwargs)


def make_oauth_app(tmp_path: Path, *, redirect_uri: str | None = None) -> App:
    """A Bolt app with the OAuth flow, its installations and states stored under ``tmp_path``."""
    return App(
        signing_secret=SIGNING_SECRET,
        oauth_settings=OAuthSettings(
            client_id="111.222",
            client_secret="client-secret",
            scopes=["commands", "chat:write"],
            redirect_uri=redirect_uri,
            installation_store=FileInstallationStore(base_dir=str(tmp_path / "installations")),
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
        ),
    )
