"""The one exception hierarchy of django-slack-bolt.

Every error raised by this package derives from :class:`DjangoSlackBoltError`. Subclasses also take on
Django's meaning where one exists, so Django treats them the way it treats its own: a configuration
problem is an :class:`~django.core.exceptions.ImproperlyConfigured`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class DjangoSlackBoltError(Exception):
    """Base class of every error raised by django-slack-bolt."""


class SlackBoltImproperlyConfigured(DjangoSlackBoltError, ImproperlyConfigured):
    """The ``SLACK_BOLT`` setting, or the Bolt app it names, cannot be used as it is.

    The message names the setting (or the ``pip install`` extra) that fixes it.
    """


class CacheUnavailable(DjangoSlackBoltError):
    """A cache that must be written for the change at hand to be safe did not take the write.

    The change was not made (its transaction rolled back): try again once the cache answers.
    """
