"""URLs for ``include()``: the events URL and, for apps with OAuth, the install and redirect pages.

::

    urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]

serves ``/slack/events``, and for an app with an OAuth flow ``/slack/install`` and
``/slack/oauth_redirect``. The patterns are built by :mod:`django_slack_bolt.http.urls`.
"""

from __future__ import annotations

from .http.urls import app_name, build_urlpatterns

__all__ = ["app_name", "urlpatterns"]

urlpatterns = build_urlpatterns()
