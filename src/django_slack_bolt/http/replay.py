"""Refusing replays: a signed request is run once, however often it is sent.

A signature only proves that Slack sent the request within the last five minutes; whoever captured
it (a proxy log, a leaked request dump) can send it again in that window, and Bolt would run its
listeners again. The first sighting of a (timestamp, signature) pair claims it in the shared cache
(:mod:`django_slack_bolt.claims`) for just over the window in which the signature is accepted; a
repeat is answered 200 without being run, and logged.

Slack's own retries are not replays: each carries its own timestamp and signature (they are
deduplicated by event id, a separate matter). When the claims cache fails, requests are run (the
signature check still holds) and the outage is logged once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.http import HttpRequest, HttpResponse

from .. import conf
from ..cache_steps import CacheSteps
from ..claims import claim, claim_key
from .core import SIGNATURE_VERIFIED
from .guard import MAX_CLOCK_SKEW_SECONDS

__all__ = ["ReplayGuard"]

logger = logging.getLogger("django_slack_bolt.request")

# A signature is accepted while the clock is within the skew either side of its timestamp.
_MARGIN_SECONDS: Final = 5


def _first(headers: Any, name: str) -> str | None:
    value: str | Sequence[str] | None = headers.get(name)
    if value is None or isinstance(value, str):
        return value
    return value[0] if value else None


@dataclass(frozen=True)
class ReplayGuard:
    """Whether to claim requests, and in which cache (``None``: replays are not refused)."""

    cache_alias: str | None

    @classmethod
    def from_settings(cls) -> ReplayGuard:
        return cls(conf.get_setting("CLAIMS_CACHE") if conf.get_setting("REFUSE_REPLAYS") else None)

    def claim_for(self, request: Any, *, now: float | None = None) -> CacheSteps[bool] | None:
        """The steps that claim ``request`` (a Bolt request the guard verified), or ``None`` when there is
        nothing to claim: the guard is off, or the request was not signed (an ``ssl_check`` ping, or
        an app that does not verify)."""
        if self.cache_alias is None or request.context.get(SIGNATURE_VERIFIED) is not True:
            return None
        timestamp = _first(request.headers, "x-slack-request-timestamp")
        signature = _first(request.headers, "x-slack-signature")
        if timestamp is None or signature is None:
            return None
        now = time.time() if now is None else now
        expires_in = int(timestamp) + MAX_CLOCK_SKEW_SECONDS + _MARGIN_SECONDS - int(now)
        return claim(claim_key("seen", timestamp, signature), expires_in)

    @staticmethod
    def refused(req: HttpRequest) -> HttpResponse:
        """The answer to a replay: 200, as to Slack, without running anything."""
        logger.warning(
            "Refused a replay of a signed Slack request to %s: the same timestamp and signature were seen "
            "before, and it was not run again.",
            req.path,
        )
        return HttpResponse(status=200)
