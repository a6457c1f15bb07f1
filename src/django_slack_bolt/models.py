"""The package's models, where Django looks for them; they are defined in
:mod:`django_slack_bolt.oauth.models`."""

from __future__ import annotations

from .oauth.models import SlackBot, SlackInstallation, SlackOAuthState

__all__ = ["SlackBot", "SlackInstallation", "SlackOAuthState"]
