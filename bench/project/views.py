"""The floors: Django views that do no Slack work at all."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    # The floor: Django's request cycle and middleware with no Slack work at all.
    return HttpResponse("ok")


def pid(request: HttpRequest) -> HttpResponse:
    # Which worker process answered: the bench waits until every worker has.
    return HttpResponse(str(os.getpid()))
