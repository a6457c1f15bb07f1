"""URLconf of the test suite: the package's URLs as a project would include them, plus slots that
serve any handler a test registers (so Bolt's own adapter can be driven through the same path), one for
sync handlers and one, an async view, for async ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

try:
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django < 5.1

    def login_not_required(view_func):  # type: ignore[no-untyped-def]
        return view_func


REGISTERED_HANDLERS: dict[str, Callable[[HttpRequest], HttpResponse]] = {}
REGISTERED_ASYNC_HANDLERS: dict[str, Callable[[HttpRequest], Awaitable[HttpResponse]]] = {}


@csrf_exempt
@login_not_required
def registered_handler(request: HttpRequest, key: str) -> HttpResponse:
    return REGISTERED_HANDLERS[key](request)


async def _registered_async_handler(request: HttpRequest, key: str) -> HttpResponse:
    return await REGISTERED_ASYNC_HANDLERS[key](request)


# Django 4.2's csrf_exempt wraps in a sync function: mark the result so Django still awaits it.
registered_async_handler = markcoroutinefunction(csrf_exempt(login_not_required(_registered_async_handler)))


urlpatterns = [
    path("slack/", include("django_slack_bolt.urls")),
    path("admin/", admin.site.urls),
    path("registered/<str:key>/events", registered_handler),
    path("registered-async/<str:key>/events", registered_async_handler),
]
