"""Module attributes the system-check tests point SLACK_BOLT["APP"] at."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore

from tests.support import authorize

not_an_app = {"signing_secret": "x"}

no_signing_secret = App(signing_secret="", authorize=authorize)

unverified = App(signing_secret="s", authorize=authorize, request_verification_enabled=False)


class _CustomRunner:
    pass


custom_runner = App(signing_secret="s", authorize=authorize)
custom_runner._listener_runner = _CustomRunner()  # type: ignore[assignment]

oauth_elsewhere = App(
    signing_secret="s",
    oauth_settings=OAuthSettings(
        client_id="1.2",
        client_secret="c",
        scopes=["commands"],
        install_path="/bot/install",
        redirect_uri_path="/bot/oauth_redirect",
        installation_store=FileInstallationStore(base_dir="/tmp/django-slack-bolt-check-installations"),
        state_store=FileOAuthStateStore(
            expiration_seconds=600, base_dir="/tmp/django-slack-bolt-check-states"
        ),
    ),
)
