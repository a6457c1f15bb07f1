"""URLs: everything Slack (and the installing user's browser) reaches is under ``/slack/``.

* ``/slack/events``: the Request URL of commands, events and interactivity;
* ``/slack/install``: the "Add to Slack" page, where installing the app into a workspace starts;
* ``/slack/oauth_redirect``: the OAuth redirect URL, where Slack sends the browser back.
"""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("slack/", include("django_slack_bolt.urls")),
]
