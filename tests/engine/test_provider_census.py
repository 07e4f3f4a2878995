"""The lost-ledger census (issue 18) against both simulators over loopback: it pages through each
provider's whole post list up to POSTDECK_CENSUS_MAX_POSTS, says when that bound stopped it, and a
list that cannot be read stops a first publish instead of counting as "none there"."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from postdeck.core.keys import DeliveryKey, PostKey
from postdeck.core.platform import Platform
from postdeck.engine.provider_census import CensusIncomplete, census, require_not_at_providers
from postdeck.ledger.journal_guard import LedgerLostDeliveries
from postdeck.providers.base import PostRequest, Target
from postdeck.providers.chain import Chain, Link
from postdeck.providers.late import LateClient, post_body
from postdeck.providers.postforme import PostForMeClient
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.late_app import SANDBOX_LATE_KEY, LateSim
from postdeck.sandbox.late_app import create_app as late_app
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim
from postdeck.sandbox.postforme_app import create_app as postforme_app
from postdeck.sandbox.server import SandboxServer
from postdeck.schemas.deliveries import Delivery

START = datetime(2030, 1, 1, 9, tzinfo=UTC)


def deliveries(campaign: str = "c") -> list[Delivery]:
    key = str(DeliveryKey(campaign, "a", Platform.BLUESKY))
    return [Delivery(key, campaign, "a", Platform.BLUESKY, "hello", (), None)]


def campaign_post(account_id: str, campaign: str = "c") -> PostRequest:
    """The create a publish of `deliveries()` makes: its post key is what the census matches."""
    (delivery,) = deliveries(campaign)
    key = str(PostKey.of(campaign, "a", [delivery.key]))
    return PostRequest(key, "hello", (Target(Platform.BLUESKY, account_id, "hello"),))


def filler(account_id: str, n: int) -> PostRequest:
    return PostRequest(f"pd_other_{n}", f"other {n}", (Target(Platform.BLUESKY, account_id, f"other {n}"),))


@pytest.fixture
def postforme() -> Iterator[tuple[PostForMeSim, Chain]]:
    sim = PostForMeSim()
    with SandboxServer(postforme_app(sim)) as server:
        client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url)
        yield sim, Chain([Link("postforme:g", client)], sleep=lambda _s: None)
        client.close()


@pytest.fixture
def late() -> Iterator[tuple[LateSim, Chain]]:
    sim = LateSim()
    with SandboxServer(late_app(sim)) as server:
        client = LateClient(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api")
        yield sim, Chain([Link("late:g", client)], sleep=lambda _s: None)
        client.close()


def test_a_post_older_than_postformes_first_page_is_found(
    postforme: tuple[PostForMeSim, Chain], caplog: pytest.LogCaptureFixture
) -> None:
    sim, chain = postforme
    account = sim.account_for("bluesky")["id"]
    client = chain.links[0].provider
    sim.set_now(START)
    client.create(campaign_post(account))
    for n in range(150):  # newer posts, stored in the simulator (the census's reads are under test)
        sim.set_now(START + timedelta(minutes=n + 1))
        sim.create_post(client.post_body(filler(account, n)))
    sim.reset_clock()

    found = census(chain, deliveries())
    assert [f.post.post_key for f in found.found] == [campaign_post(account).post_key]
    assert found.cut_short == () and found.bound_note() == ""
    with pytest.raises(LedgerLostDeliveries, match="postforme already has 1 of its posts"):
        require_not_at_providers(chain, deliveries(), ledger="ledger.db", path="c.yaml")

    # The bound stops the search before it and says so (the log line and the message name it).
    with caplog.at_level(logging.WARNING, logger="postdeck.engine.provider_census"):
        bounded = census(chain, deliveries(), max_posts=100)
    assert bounded.found == () and bounded.cut_short == ("postforme:g",)
    assert "only the newest 100 posts (POSTDECK_CENSUS_MAX_POSTS) of postforme:g" in bounded.bound_note()
    assert "past the newest 100 (POSTDECK_CENSUS_MAX_POSTS)" in caplog.text


def test_a_post_older_than_lates_first_500_is_found(late: tuple[LateSim, Chain]) -> None:
    sim, chain = late
    account = sim.account("bluesky")["_id"]
    sim.set_now(START)
    chain.links[0].provider.create(campaign_post(account))
    for n in range(550):
        sim.set_now(START + timedelta(minutes=n + 1))
        draft = filler(account, n)
        sim.begin_create(
            post_body(PostRequest(draft.post_key, draft.caption, draft.targets, draft=True)), None
        )
    sim.reset_clock()

    found = census(chain, deliveries(), max_posts=5000)
    assert [f.post.post_key for f in found.found] == [campaign_post(account).post_key]
    assert found.cut_short == ()


def test_a_provider_that_cannot_list_its_posts_stops_a_first_publish(
    postforme: tuple[PostForMeSim, Chain],
) -> None:
    """Issue 18: PostForMe down during the census counted as "none of the campaign's posts there"."""
    sim, chain = postforme
    chain.links[0].provider.create(campaign_post(sim.account_for("bluesky")["id"]))
    sim.faults.set_plan(FaultPlan(rules=(FaultRule(kind="status", status=503, ops=("list",)),)))
    with pytest.raises(CensusIncomplete) as refused:
        require_not_at_providers(chain, deliveries(), ledger="ledger.db", path="c.yaml")
    message = str(refused.value)
    assert "postforme:g: " in message and "503" in message
    assert "Nothing was sent" in message and "when it is reachable" in message
    assert sim.stats()["create_calls"] == 1


def test_a_throttled_or_passing_failure_of_a_list_page_is_asked_again(
    postforme: tuple[PostForMeSim, Chain],
) -> None:
    """A 429 (or one 503) while paging is no reason to refuse a first publish: the page is read again,
    after the wait the provider asked for; only a list that stays unreadable refuses."""
    sim, chain = postforme
    chain.links[0].provider.create(campaign_post(sim.account_for("bluesky")["id"]))
    throttled = FaultRule(kind="throttle", ops=("list",), count=1, retry_after=0.01)
    failing = FaultRule(kind="status", status=503, ops=("list",), count=1, after_requests=1)
    sim.faults.set_plan(FaultPlan(rules=(throttled, failing)))
    found = census(chain, deliveries())
    assert len(found.found) == 1 and found.unreadable == ()
    with pytest.raises(LedgerLostDeliveries):
        require_not_at_providers(chain, deliveries(), ledger="ledger.db", path="c.yaml")


def test_a_rebuild_records_what_it_found_and_says_which_list_it_could_not_search(tmp_path) -> None:
    from postdeck.engine.provider_census import rebuild_from_providers
    from postdeck.ledger.sqlite import SqliteLedger
    from postdeck.providers.errors import ProviderNotSent
    from tests.fakes import FakeProvider

    up = FakeProvider("up", page_size=2)
    up.create(campaign_post("up-bluesky"))
    for n in range(5):  # its post is on the third page
        up.create(filler("up-bluesky", n))
    down = FakeProvider("down", list_error=ProviderNotSent("unreachable", provider="down"))
    chain = Chain([Link("up:g", up), Link("down:g", down)], sleep=lambda _s: None)
    ledger = SqliteLedger(tmp_path / "ledger.db")
    rebuilt = rebuild_from_providers(ledger, chain, deliveries(), now=START)
    assert rebuilt.restored == [deliveries()[0].key]
    assert ledger.get(deliveries()[0].key).provider_post_id == "up-post-1"
    assert rebuilt.census.unreadable == ("down:g: down: unreachable",)
    assert rebuild_from_providers(ledger, chain, deliveries(), now=START).restored == []  # it has it now


def test_a_rebuild_cut_short_between_claim_and_attempt_never_lets_a_publish_send_it_again(tmp_path) -> None:
    """The rebuild claims a delivery whose post the provider has, then notes where it is. Stopped in
    between (the ledger went away), the claim had no attempt: once its lease ran out, a publish took it
    over as "never sent" and posted it a second time. Its claim now outlives any crashed rebuild, and a
    rebuild run again finishes it."""
    from postdeck.engine.provider_census import rebuild_from_providers
    from postdeck.engine.publisher import publish_batch
    from postdeck.errors import LedgerError
    from postdeck.ledger.sqlite import SqliteLedger
    from tests.fakes import FakeProvider

    provider = FakeProvider("up")
    provider.create(campaign_post("up-bluesky"))
    chain = Chain([Link("up:g", provider)], sleep=lambda _s: None)
    ledger = SqliteLedger(tmp_path / "ledger.db")

    class Interrupted(SqliteLedger):
        def note_attempt(self, *args, **kwargs) -> None:
            raise LedgerError("the database went away")

    with pytest.raises(LedgerError):
        rebuild_from_providers(Interrupted(tmp_path / "ledger.db"), chain, deliveries(), now=START)
    a_day_later = START + timedelta(days=1)
    reports = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="run", now=lambda: a_day_later)
    assert [r.action for r in reports] == ["held"] and len(provider.posts) == 1

    again = rebuild_from_providers(ledger, chain, deliveries(), now=a_day_later)
    assert again.restored == [deliveries()[0].key]
    reports = publish_batch(deliveries(), ledger=ledger, chain=chain, owner="run", now=lambda: a_day_later)
    assert [r.action for r in reports] == ["unchanged"] and len(provider.posts) == 1


def test_ledger_rebuild_from_providers_fails_naming_the_list_it_could_not_read(
    isolated_postdeck, box, tmp_path
) -> None:
    from typer.testing import CliRunner

    from postdeck.cli import app
    from tests.conftest import REPO

    box.postforme.faults.set_plan(FaultPlan(rules=(FaultRule(kind="status", status=503, ops=("list",)),)))
    campaign = str(REPO / "campaigns/example.yaml")
    run = CliRunner().invoke(app, ["ledger", "rebuild", "--from-providers", campaign, "--sandbox"])
    assert run.exit_code == 1, run.output
    assert "0 deliveries restored from the providers' posts" in run.output
    assert "not searched: postforme" in run.output and "when it is reachable" in run.output
