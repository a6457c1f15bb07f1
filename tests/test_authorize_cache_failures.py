"""The authorization cache failing: never an authorization the database no longer backs, and service
goes on from the database.

The cache (tests.apps.failing_cache.FailingCache) refuses what a Redis out of memory, with its writes
paused, or gone, refuses: writes only, or everything. Requests go through the full request path.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from slack_sdk.oauth.installation_store import Installation

from django_slack_bolt import SlackRequestHandler, cache_steps
from django_slack_bolt.exceptions import CacheUnavailable
from django_slack_bolt.oauth.authorize import DjangoAuthorize
from django_slack_bolt.oauth.installation_store import DjangoInstallationStore
from django_slack_bolt.testing import FakeSlack, slash_command

from .apps.failing_cache import FailingCache
from .support import SIGNING_SECRET, make_app
from .test_token_rotation import CLIENT_SECRET, SingleUseRefresh, expiring_installation

CLIENT_ID = "111.222"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "flaky": {"BACKEND": "tests.apps.failing_cache.FailingCache", "LOCATION": "flaky-authorize"},
}
WRITES = {"add", "set", "set_many", "delete"}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("flaky_cache")]


@pytest.fixture
def flaky_cache(settings: Any) -> Any:
    with override_settings(CACHES=CACHES):
        settings.SLACK_BOLT = {**settings.SLACK_BOLT, "AUTHORIZE_CACHE": "flaky", "CLIENT_ID": CLIENT_ID}
        from django.core.cache import caches

        caches["flaky"].clear()
        FailingCache.failing = set()
        cache_steps.outages.answered("flaky")  # no outage left over from another test
        yield
        FailingCache.failing = set()
        cache_steps.outages.answered("flaky")


def installation(token: str, *, installed_at: float) -> Installation:
    return Installation(
        app_id="A1", team_id="T1", user_id="U1", bot_token=token, bot_id="B1", bot_user_id="UB1",
        installed_at=installed_at,
    )  # fmt: skip


@pytest.fixture
def store() -> DjangoInstallationStore:
    store = DjangoInstallationStore(CLIENT_ID)
    store.save(installation("xoxb-old", installed_at=1_700_000_000.0))
    return store


@pytest.fixture
def whoami(serve: Any, client: Client, fake_slack: FakeSlack) -> Any:
    app = make_app(authorize=DjangoAuthorize(client_id=CLIENT_ID, client_secret=CLIENT_SECRET))

    @app.command("/whoami")
    def answer(ack: Any, context: Any) -> None:
        ack(context.bot_token or "nobody")

    fake_slack.point_app(app)  # undone with the fake, at the end of the test
    url = serve(SlackRequestHandler(app).handle)

    def ask() -> str:
        # Bolt posts its "not installed" message to the response URL when authorize finds nothing.
        request = slash_command(
            "/whoami",
            signing_secret=SIGNING_SECRET,
            team_id="T1",
            user_id="U1",
            response_url=fake_slack.response_url(),
        )
        response = request.post(client, url)
        assert response.status_code < 500, response.content
        return response.content.decode() if response.status_code == 200 else f"{response.status_code}"

    return ask


def stored_token(store: DjangoInstallationStore) -> str | None:
    found = store.find_installation(enterprise_id=None, team_id="T1")
    return None if found is None else found.bot_token


def test_an_uninstall_the_cache_cannot_follow_is_refused_and_nothing_is_served_unbacked(store, whoami):
    assert whoami() == "xoxb-old"  # cached
    FailingCache.failing = set(WRITES)
    with pytest.raises(CacheUnavailable):
        store.delete_all(enterprise_id=None, team_id="T1")
    # Refused and rolled back: what is served is what the database still holds.
    assert stored_token(store) == "xoxb-old"
    assert whoami() == "xoxb-old"
    FailingCache.failing = set()
    store.delete_all(enterprise_id=None, team_id="T1")
    assert stored_token(store) is None
    assert whoami() != "xoxb-old"


def test_a_reinstall_the_cache_cannot_follow_is_refused(store, whoami):
    assert whoami() == "xoxb-old"
    FailingCache.failing = set(WRITES)
    with pytest.raises(CacheUnavailable):
        store.save(installation("xoxb-new", installed_at=1_800_000_000.0))
    assert stored_token(store) == "xoxb-old"
    assert whoami() == "xoxb-old"


@pytest.mark.parametrize("change", ["reinstall", "uninstall"])
def test_when_the_cache_fails_after_the_commit_the_old_authorization_is_not_served(store, whoami, change):
    assert whoami() == "xoxb-old"
    with transaction.atomic():
        # The cache stops taking writes right after the commit, before the new generation is written.
        transaction.on_commit(lambda: FailingCache.failing.update(WRITES))
        if change == "reinstall":
            store.save(installation("xoxb-new", installed_at=1_800_000_000.0))
        else:
            store.delete_all(enterprise_id=None, team_id="T1")
    expected = "xoxb-new" if change == "reinstall" else None
    assert stored_token(store) == expected
    # The entry with xoxb-old is still in the cache, but under a generation that is no longer current.
    for _ in range(3):
        assert whoami() != "xoxb-old"
    FailingCache.failing = set()
    assert whoami() != "xoxb-old"


def test_a_rotation_with_the_cache_refusing_writes_serves_the_new_token(fake_slack, whoami, caplog):
    caplog.set_level(logging.WARNING, logger="django_slack_bolt")
    fake_slack.respond("oauth.v2.access", SingleUseRefresh())
    store = DjangoInstallationStore(CLIENT_ID)
    store.save(expiring_installation())
    FailingCache.failing = set(WRITES)
    first = whoami()
    assert first.startswith("xoxe.xoxb-new-")  # rotated, and written although the cache refused
    assert stored_token(store) == first
    assert whoami() == first
    assert len(fake_slack.calls_to("oauth.v2.access", params={"grant_type": "refresh_token"})) == 1


def test_a_cache_that_fails_entirely_degrades_to_the_database(
    store, whoami, caplog, django_assert_num_queries
):
    caplog.set_level(logging.WARNING, logger="django_slack_bolt")
    assert whoami() == "xoxb-old"
    FailingCache.failing = {"*"}
    for _ in range(5):
        with django_assert_num_queries(1):  # one query per request, as a cold cache
            assert whoami() == "xoxb-old"
    assert len([r for r in caplog.records if r.getMessage().startswith("The 'flaky' cache failed")]) == 1
    FailingCache.failing = set()
    assert whoami() == "xoxb-old"
    with django_assert_num_queries(0):  # warm again
        assert whoami() == "xoxb-old"
    assert len([r for r in caplog.records if r.getMessage() == "The 'flaky' cache answers again."]) == 1
    assert not [r for r in caplog.records if r.exc_info is not None]
