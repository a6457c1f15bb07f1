"""Django signals: the ORM stores' (sent after the transaction that made the change commits), and
:data:`event_lost`.

Connect to them like to any Django signal::

    from django.dispatch import receiver
    from django_slack_bolt.signals import installation_saved

    @receiver(installation_saved)
    def welcome(sender, installation, **kwargs):
        ...

Every signal is sent with ``sender`` = the store class and these keyword arguments:

* :data:`installation_saved`: ``installation`` (the saved
  :class:`slack_sdk.oauth.installation_store.Installation`), ``store``.
* :data:`bot_saved`: ``bot`` (the saved :class:`slack_sdk.oauth.installation_store.Bot`), ``store``; sent
  alone when a bot is saved without an installation (``save_bot``).
* :data:`installation_deleted`: ``enterprise_id``, ``team_id``, ``user_id``, ``installations`` (True
  when installation rows were deleted: every user's when ``user_id`` is None, else that user's),
  ``bots`` (True when the workspace's bots were deleted), ``store``. An uninstall (``delete_all``)
  has both True; a revoked bot token (``delete_bot``) only ``bots``; a user's revoked token
  (``delete_installation`` with ``user_id``) only ``installations``.
* :data:`tokens_rotated`: ``installation`` (an Installation carrying the new tokens), ``bot_rotated``,
  ``user_rotated`` (which tokens were refreshed), ``store``.

:data:`event_lost` is sent (``sender`` = the handler's listener runner class) when a listener of an
Events API event raises after Slack was acknowledged (events are acknowledged before their listener
runs): Slack will not deliver that event again. Keyword arguments: ``event_id``, ``event_type``,
``team_id``, ``enterprise_id``, ``error`` (the exception). It comes with an ERROR record on the
``django_slack_bolt.events`` logger that names the event id.

The installation carries tokens: do not log it. A receiver that raises does not undo the change
(it has committed) nor break the request that made it: the exception is logged on the
``django_slack_bolt.signals`` logger with its traceback, and the other receivers still run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("django_slack_bolt.signals")

__all__ = ["bot_saved", "event_lost", "installation_deleted", "installation_saved", "tokens_rotated"]

installation_saved = Signal()
bot_saved = Signal()
installation_deleted = Signal()
tokens_rotated = Signal()
event_lost = Signal()


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` to every receiver; log (and swallow) what a receiver raises."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("A receiver of a django_slack_bolt signal raised: %r", receiver, exc_info=result)
