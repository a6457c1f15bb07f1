"""One URL per variant: the bare floor, Bolt's own Django adapter, and django-slack-bolt."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.views import SlackEventsView

from . import slack_apps


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    path: str


VARIANTS: tuple[Variant, ...] = (
    Variant("bare", "bare view", "/bare/"),
    Variant("bolt", "Bolt adapter", "/bolt/events"),
    Variant("ours", "ours", "/ours/events"),
)
VARIANTS_BY_KEY = {variant.key: variant for variant in VARIANTS}


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    # The floor: Django's request cycle and middleware with no Slack work at all.
    return HttpResponse("ok")


_bolt_handler = BoltSlackRequestHandler(slack_apps.bolt_app)


@csrf_exempt
def bolt_events(request: HttpRequest) -> HttpResponse:
    # How Bolt's documentation wires its adapter: the user adds csrf_exempt.
    return _bolt_handler.handle(request)


urlpatterns = [
    path("bare/", bare),
    path("bolt/events", bolt_events),
    path("ours/events", SlackEventsView.as_view(handler=SlackRequestHandler(slack_apps.ours_app))),
]
