"""One URL per variant: the bare floor, Bolt's own Django adapter, and django-slack-bolt.

The authorization part's two apps are served by our adapter, each at its own URL; so are the async
part's in-process variants (when aiohttp is installed), through our async views. The lazy part's two
identical apps are served by each adapter. The async part's servers serve URLconfs of their own
(:mod:`project.urls_sync_server`, :mod:`project.urls_async_server`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from slack_bolt.adapter.django import SlackRequestHandler as BoltSlackRequestHandler

from django_slack_bolt import SlackRequestHandler
from django_slack_bolt.http.views import SlackEventsView

from . import lazy_apps, slack_apps, views


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

# The authorization part: the same adapter (ours), two ways to authorize from stored installations.
AUTHORIZE_VARIANTS: tuple[Variant, ...] = (
    Variant("bolt_default", "Bolt's default (InstallationStoreAuthorize)", "/authorize/bolt-default/events"),
    Variant("django_authorize", "ours (DjangoAuthorize)", "/authorize/django/events"),
)
AUTHORIZE_VARIANTS_BY_KEY = {variant.key: variant for variant in AUTHORIZE_VARIANTS}

# The async part, in-process: an AsyncApp through our async view, with our fast-ack runner and with
# Bolt's own asyncio runner (which polls for ack() every 10 ms), against a bare async view.
ASYNC_VARIANTS: tuple[Variant, ...] = (
    Variant("async_bare", "bare async view", "/async/bare/"),
    Variant("async_ours", "ours (AsyncSlackEventsView)", "/async/ours/events"),
    Variant("async_bolt_runner", "ours, Bolt's asyncio runner (fast_ack=False)", "/async/bolt-runner/events"),
)
ASYNC_VARIANTS_BY_KEY = {variant.key: variant for variant in ASYNC_VARIANTS}
HAS_AIOHTTP = importlib.util.find_spec("aiohttp") is not None

# The lazy part: the same app (a slow lazy listener behind /report, and /ping) through each adapter.
LAZY_VARIANTS: tuple[Variant, ...] = (
    Variant("lazy_ours", "ours (SlackRequestHandler)", "/lazy/ours/events"),
    Variant("lazy_bolt", "Bolt adapter", "/lazy/bolt/events"),
)
LAZY_VARIANTS_BY_KEY = {variant.key: variant for variant in LAZY_VARIANTS}


_bolt_handler = BoltSlackRequestHandler(slack_apps.bolt_app)
lazy_ours_handler = SlackRequestHandler(lazy_apps.build_lazy_app())
lazy_bolt_handler = BoltSlackRequestHandler(lazy_apps.build_lazy_app())


@csrf_exempt
def bolt_events(request: HttpRequest) -> HttpResponse:
    # How Bolt's documentation wires its adapter: the user adds csrf_exempt.
    return _bolt_handler.handle(request)


@csrf_exempt
def lazy_bolt_events(request: HttpRequest) -> HttpResponse:
    return lazy_bolt_handler.handle(request)


urlpatterns: list[URLPattern] = [
    path("bare/", views.bare),
    path("bolt/events", bolt_events),
    path("ours/events", SlackEventsView.as_view(handler=SlackRequestHandler(slack_apps.ours_app))),
    path(
        AUTHORIZE_VARIANTS_BY_KEY["bolt_default"].path.lstrip("/"),
        SlackEventsView.as_view(handler=SlackRequestHandler(slack_apps.bolt_default_authorize_app)),
    ),
    path(
        AUTHORIZE_VARIANTS_BY_KEY["django_authorize"].path.lstrip("/"),
        SlackEventsView.as_view(handler=SlackRequestHandler(slack_apps.django_authorize_app)),
    ),
    path(
        LAZY_VARIANTS_BY_KEY["lazy_ours"].path.lstrip("/"), SlackEventsView.as_view(handler=lazy_ours_handler)
    ),
    path(LAZY_VARIANTS_BY_KEY["lazy_bolt"].path.lstrip("/"), lazy_bolt_events),
]


def _async_urlpatterns() -> list[URLPattern]:
    from django_slack_bolt.http.async_handler import AsyncSlackRequestHandler
    from django_slack_bolt.http.views import AsyncSlackEventsView

    from . import async_apps

    def served(fast_ack: bool) -> Callable[..., Any]:
        handler = AsyncSlackRequestHandler(async_apps.build_async_app(), fast_ack=fast_ack)
        return AsyncSlackEventsView.as_view(handler=handler)

    paths = {variant.key: variant.path.lstrip("/") for variant in ASYNC_VARIANTS}
    return [
        path(paths["async_bare"], async_apps.bare),
        path(paths["async_ours"], served(fast_ack=True)),
        path(paths["async_bolt_runner"], served(fast_ack=False)),
    ]


if HAS_AIOHTTP:
    urlpatterns += _async_urlpatterns()
