"""Module attributes the system-check tests point SLACK_BOLT["APP"] at."""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore

from tests.support import SIGNING_SECRET, authorize

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


# An app keeping its installations in the ORM store: needs SLACK_BOLT["TOKEN_ENCRYPTION_KEYS"].
def _orm_store_app() -> App:
    from django_slack_bolt.oauth.installation_store import DjangoInstallationStore

    return App(signing_secret=SIGNING_SECRET, installation_store=DjangoInstallationStore("111.222"))


orm_store_app = _orm_store_app()
