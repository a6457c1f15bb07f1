"""URLconf of the test suite: the package's URLs as a project would include them, plus a slot that
serves any handler a test registers (so Bolt's own adapter can be driven through the same path)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

try:
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django < 5.1

    def login_not_required(view_func):  # type: ignore[no-untyped-def]
        return view_func


REGISTERED_HANDLERS: dict[str, Callable[[HttpRequest], HttpResponse]] = {}


@csrf_exempt
@login_not_required
def registered_handler(request: HttpRequest, key: str) -> HttpResponse:
    return REGISTERED_HANDLERS[key](request)


urlpatterns = [
    path("slack/", include("django_slack_bolt.urls")),
    path("registered/<str:key>/events", registered_handler),
]
