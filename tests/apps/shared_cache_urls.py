"""The URLs of the project in tests/apps/shared_cache.py."""

from django.urls import include, path

urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]
