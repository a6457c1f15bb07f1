"""A URLconf rebuilt by tests that swap the configured app (see test_views.with_oauth_app)."""

from django.urls import include, path

urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]
