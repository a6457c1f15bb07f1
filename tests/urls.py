from django.urls import include, path

urlpatterns = [path("slack/", include("django_slack_bolt.urls"))]
