"""A URLconf that includes django_slack_bolt.urls at "slack", without the slash (check E011)."""

from django.urls import include, path

urlpatterns = [path("slack", include("django_slack_bolt.urls"))]
