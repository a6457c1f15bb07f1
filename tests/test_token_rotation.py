"""Token rotation across workers: one refresh call, every worker gets the new token.

Slack's refresh tokens are single-use. Bolt refreshes inside the request with no lock, so two
workers that see the same expiring token both spend the refresh token, and one of them gets
``invalid_refresh_token``. DjangoAuthorize locks the workspace's rows, re-reads them, and refreshes
only if no other worker has. Each worker below is a thread with its own database connection.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from slack_bolt import BoltContext
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.signals import tokens_rotated
from django_slack_bolt.testing import FakeSlack, RecordedCall

CLIENT_ID = "111.222"
CLIENT_SECRET = "client-secret"
WORKERS = 8

ALIASES = [
    pytest.param("default", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                "postgres" not in settings.DATABASES, reason="no PostgreSQL server configured"
            ),
        ],
    ),
]

pytestmark = pytest.mark.django_db(
    transaction=True, databases=["default", "postgres"] if "postgres" in settings.DATABASES else ["default"]
)


class SingleUseRefresh:
    """oauth.v2.access with grant_type=refresh_token, as Slack answers it: each refresh token once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.valid = {"xoxe-1-bot-0", "xoxe-1-user-0"}
        self.serial = itertools.count(1)

    def __call__(self, call: RecordedCall) -> dict[str, Any]:
        token = call.params.get("refresh_token", "")
        with self.lock:
            if token not in self.valid:
                return {"ok": False, "error": "invalid_refresh_token"}
            self.valid.discard(token)
            n = next(self.serial)
            kind = "bot" if "-bot-" in token else "user"
            fresh = f"xoxe-1-{kind}-{n}"
            self.valid.add(fresh)
        prefix = "xoxe.xoxb" if kind == "bot" else "xoxe.xoxp"
        return {
            "ok": True,
            "access_token": f"{prefix}-new-{n}",
            "refresh_token": fresh,
            "expires_in": 43200,
            "token_type": "bot" if kind == "bot" else "user",
            "team": {"id": "T1", "name": "Team T1"},
        }


def expiring_installation(*, user: bool = False) -> Installation:
    soon = int(time.time()) + 60  # inside the 120-minute rotation window
    return Installation(
        app_id="A0APP",
        team_id="T1",
        team_name="Team T1",
        bot_token="xoxe.xoxb-old",
        bot_id="BT1",
        bot_user_id="UBT1",
        bot_scopes=["chat:write"],
        bot_refresh_token="xoxe-1-bot-0",
        bot_token_expires_at=soon,
        user_id="U1",
        user_token="xoxe.xoxp-old" if user else None,
        user_refresh_token="xoxe-1-user-0" if user else None,
        user_token_expires_at=soon if user else None,
        installed_at=1_700_000_000.0,
    )


def run_workers(alias: str, make_authorize: Callable[[], Any], fake: FakeSlack) -> list[Any]:
    barrier = threading.Barrier(WORKERS)

    def worker() -> Any:
        try:
            authorize = make_authorize()
            barrier.wait(timeout=10)
            context = BoltContext(client=WebClient(base_url=fake.url))
            return authorize(context=context, enterprise_id=None, team_id="T1", user_id="U1")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda _: worker(), range(WORKERS)))


def refresh_calls(fake: FakeSlack) -> list[RecordedCall]:
    return fake.calls_to("oauth.v2.access", params={"grant_type": "refresh_token"})


@pytest.mark.parametrize("alias", ALIASES)
def test_concurrent_workers_refresh_once(alias: str, fake_slack: FakeSlack) -> None:
    cache.clear()
    fake_slack.respond("oauth.v2.access", SingleUseRefresh())
    fake_slack.set_latency(0.5, method="oauth.v2.access")  # all workers arrive while it is in flight
    DjangoInstallationStore(CLIENT_ID, database=alias).save(expiring_installation(user=True))
    rotated: list[dict[str, Any]] = []

    def on_rotated(**kwargs: Any) -> None:
        rotated.append(kwargs)

    tokens_rotated.connect(on_rotated)
    try:
        results = run_workers(
            alias,
            lambda: DjangoAuthorize(
                installation_store=DjangoInstallationStore(CLIENT_ID, database=alias),
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            ),
            fake_slack,
        )
    finally:
        tokens_rotated.disconnect(on_rotated)

    assert len(refresh_calls(fake_slack)) == 2  # one for the bot token, one for the user token
    assert all(result is not None for result in results)
    assert len({result.bot_token for result in results}) == 1
    assert results[0].bot_token.startswith("xoxe.xoxb-new-")
    assert len({result.user_token for result in results}) == 1
    assert "old" not in next(iter({result.user_token for result in results}))
    stored = DjangoInstallationStore(CLIENT_ID, database=alias).find_installation(
        enterprise_id=None, team_id="T1"
    )
    assert stored is not None
    assert stored.bot_token == results[0].bot_token
    assert stored.user_token == results[0].user_token
    assert stored.bot_token_expires_at is not None
    assert stored.bot_token_expires_at > time.time() + 40000
    assert len(rotated) == 1
    assert rotated[0]["bot_rotated"]
    assert rotated[0]["user_rotated"]


@pytest.mark.parametrize("alias", ALIASES)
def test_bolts_authorize_races_without_the_lock(alias: str, fake_slack: FakeSlack) -> None:
    """The control: Bolt's own authorize on the same store spends the refresh token more than once."""
    cache.clear()
    fake_slack.respond("oauth.v2.access", SingleUseRefresh())
    fake_slack.set_latency(0.5, method="oauth.v2.access")
    fake_slack.respond("auth.test", {"ok": True, "team_id": "T1", "user_id": "UBT1", "bot_id": "BT1"})
    DjangoInstallationStore(CLIENT_ID, database=alias).save(expiring_installation())
    results = run_workers(
        alias,
        lambda: InstallationStoreAuthorize(
            logger=DjangoInstallationStore(CLIENT_ID).logger,
            installation_store=DjangoInstallationStore(CLIENT_ID, database=alias),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            client=WebClient(base_url=fake_slack.url),
        ),
        fake_slack,
    )
    answers = [call.response.get("error") if call.response else None for call in refresh_calls(fake_slack)]
    assert len(refresh_calls(fake_slack)) > 1
    assert "invalid_refresh_token" in answers
    assert any(result is None for result in results)


@pytest.mark.parametrize("alias", ALIASES)
def test_a_fresh_token_is_not_refreshed(alias: str, fake_slack: FakeSlack) -> None:
    cache.clear()
    fresh = expiring_installation()
    fresh.bot_token_expires_at = int(time.time()) + 12 * 3600
    DjangoInstallationStore(CLIENT_ID, database=alias).save(fresh)
    authorize = DjangoAuthorize(
        installation_store=DjangoInstallationStore(CLIENT_ID, database=alias),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    result = authorize(
        context=BoltContext(client=WebClient(base_url=fake_slack.url)),
        enterprise_id=None,
        team_id="T1",
        user_id="U1",
    )
    assert result is not None
    assert result.bot_token == "xoxe.xoxb-old"
    assert refresh_calls(fake_slack) == []


@pytest.mark.parametrize("alias", ALIASES)
def test_bot_only_apps_refresh_once_too(alias: str, fake_slack: FakeSlack) -> None:
    """``bot_only`` reads the bots table (find_bot); its refresh takes the same lock."""
    cache.clear()
    fake_slack.respond("oauth.v2.access", SingleUseRefresh())
    fake_slack.set_latency(0.5, method="oauth.v2.access")
    DjangoInstallationStore(CLIENT_ID, database=alias).save(expiring_installation())
    results = run_workers(
        alias,
        lambda: DjangoAuthorize(
            installation_store=DjangoInstallationStore(CLIENT_ID, database=alias),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            bot_only=True,
        ),
        fake_slack,
    )
    assert len(refresh_calls(fake_slack)) == 1
    assert len({result.bot_token for result in results}) == 1
    assert results[0].bot_token.startswith("xoxe.xoxb-new-")
    store = DjangoInstallationStore(CLIENT_ID, database=alias)
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == results[0].bot_token
    installation = store.find_installation(enterprise_id=None, team_id="T1")
    assert installation is not None
    assert installation.bot_token == results[0].bot_token
