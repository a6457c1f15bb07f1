"""The tables behind the ORM stores: installations, bots and OAuth states.

They mirror slack_sdk's SQLAlchemy store: every installation (and re-installation) is a row, the
latest by ``installed_at`` wins, and bots are kept apart so that a bot-only lookup is one indexed
query. Tokens are :class:`~django_slack_bolt.oauth.encryption.EncryptedTokenField`: ciphertext in the
database, plain text only in memory. No ``__str__`` or ``repr`` shows a token.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .encryption import EncryptedTokenField

ID_LENGTH = 32
NAME_LENGTH = 255


def _workspace_label(enterprise_id: str | None, team_id: str | None, name: str | None) -> str:
    where = team_id or (f"org {enterprise_id}" if enterprise_id else "?")
    return f"{name} ({where})" if name else where


class _WorkspaceBot(models.Model):
    """The columns an installation and a bot share: which app, which workspace, which bot."""

    client_id = models.CharField(_("client ID"), max_length=ID_LENGTH, blank=True, default="")
    app_id = models.CharField(_("app ID"), max_length=ID_LENGTH, null=True, blank=True)
    enterprise_id = models.CharField(_("enterprise ID"), max_length=ID_LENGTH, null=True, blank=True)
    enterprise_name = models.CharField(_("enterprise"), max_length=NAME_LENGTH, null=True, blank=True)
    team_id = models.CharField(_("team ID"), max_length=ID_LENGTH, null=True, blank=True)
    team_name = models.CharField(_("workspace"), max_length=NAME_LENGTH, null=True, blank=True)
    bot_token = EncryptedTokenField(_("bot token"), null=True, blank=True)
    bot_id = models.CharField(_("bot ID"), max_length=ID_LENGTH, null=True, blank=True)
    bot_user_id = models.CharField(_("bot user ID"), max_length=ID_LENGTH, null=True, blank=True)
    bot_scopes = models.TextField(_("bot scopes"), blank=True, default="")
    bot_refresh_token = EncryptedTokenField(_("bot refresh token"), null=True, blank=True)
    bot_token_expires_at = models.DateTimeField(_("bot token expires at"), null=True, blank=True)
    is_enterprise_install = models.BooleanField(_("org-wide install"), default=False)
    custom_values = models.JSONField(_("custom values"), default=dict, blank=True)
    installed_at = models.DateTimeField(_("installed at"))

    class Meta:
        abstract = True


class SlackInstallation(_WorkspaceBot):
    """One installation of the app by one user into a workspace or an Enterprise Grid org."""

    enterprise_url = models.TextField(_("enterprise URL"), null=True, blank=True)
    user_id = models.CharField(_("installer"), max_length=ID_LENGTH)
    user_token = EncryptedTokenField(_("user token"), null=True, blank=True)
    user_scopes = models.TextField(_("user scopes"), blank=True, default="")
    user_refresh_token = EncryptedTokenField(_("user refresh token"), null=True, blank=True)
    user_token_expires_at = models.DateTimeField(_("user token expires at"), null=True, blank=True)
    incoming_webhook_url = models.TextField(_("incoming webhook URL"), null=True, blank=True)
    incoming_webhook_channel = models.TextField(_("incoming webhook channel"), null=True, blank=True)
    incoming_webhook_channel_id = models.CharField(
        _("incoming webhook channel ID"), max_length=ID_LENGTH, null=True, blank=True
    )
    incoming_webhook_configuration_url = models.TextField(
        _("incoming webhook configuration URL"), null=True, blank=True
    )
    token_type = models.CharField(_("token type"), max_length=ID_LENGTH, null=True, blank=True)

    objects: models.Manager[SlackInstallation] = models.Manager()

    class Meta:
        verbose_name = _("Slack installation")
        verbose_name_plural = _("Slack installations")
        indexes = [
            models.Index(
                fields=["client_id", "enterprise_id", "team_id", "installed_at"],
                name="dsb_installation_latest",
            ),
            models.Index(
                fields=["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
                name="dsb_installation_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{_workspace_label(self.enterprise_id, self.team_id, self.team_name)} by {self.user_id}"

    def __repr__(self) -> str:
        return (
            f"<SlackInstallation {self.pk}: enterprise_id={self.enterprise_id!r} team_id={self.team_id!r} "
            f"user_id={self.user_id!r}>"
        )


class SlackBot(_WorkspaceBot):
    """The bot of one installation: what a bot-only lookup (``find_bot``) reads."""

    objects: models.Manager[SlackBot] = models.Manager()

    class Meta:
        verbose_name = _("Slack bot")
        verbose_name_plural = _("Slack bots")
        indexes = [
            models.Index(
                fields=["client_id", "enterprise_id", "team_id", "installed_at"],
                name="dsb_bot_latest",
            ),
        ]

    def __str__(self) -> str:
        workspace = _workspace_label(self.enterprise_id, self.team_id, self.team_name)
        return f"bot {self.bot_user_id} in {workspace}"

    def __repr__(self) -> str:
        return (
            f"<SlackBot {self.pk}: enterprise_id={self.enterprise_id!r} team_id={self.team_id!r} "
            f"bot_id={self.bot_id!r}>"
        )


class SlackOAuthState(models.Model):
    """An OAuth ``state`` issued by the install page: usable once, until ``expires_at``."""

    state = models.CharField(_("state"), max_length=NAME_LENGTH, unique=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    objects: models.Manager[SlackOAuthState] = models.Manager()

    class Meta:
        verbose_name = _("Slack OAuth state")
        verbose_name_plural = _("Slack OAuth states")

    def __str__(self) -> str:
        return f"OAuth state expiring at {self.expires_at:%Y-%m-%d %H:%M:%S}"

    def __repr__(self) -> str:
        return f"<SlackOAuthState {self.pk}: expires_at={self.expires_at.isoformat()}>"
