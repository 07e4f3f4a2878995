"""Threads, first comments and routing by capability, end to end: a campaign file expanded, published
through the exactly-once protocol over a real SQLite ledger and both simulators on loopback, with
PostForMe first in the chain (as the seed orders it). PostForMe can do neither, so these go to LATE
only; what any provider can carry still goes to PostForMe first."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postdeck.chain_factory import sandbox_links
from postdeck.engine.publisher import publish_batch
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.chain import Chain, RetryPolicy
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.validation import check_file

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
FAST = RetryPolicy(settle_before_lookup=0.05, backoff_initial=0.02, backoff_max=0.05)
SQUARE = Path(__file__).parents[1] / "bad_campaigns" / "media" / "square.jpg"

CAMPAIGN = """\
name: launch
batches:
  - id: thread
    caption: "1/4 {{ product }} is out today"
    platforms: [twitter]
    media: [media/square.jpg]
    vars: {product: Deck}
    thread:
      - caption: "2/4 it plans like terraform"
        media: [media/square.jpg]
      - caption: "3/4 and publishes exactly once"
      - caption: "4/4 try it: https://example.com/deck"
  - id: comment
    caption: "Spring is here"
    platforms: [instagram, linkedin]
    media: [media/square.jpg]
    first_comment: "#spring #launch"
    linkedin: {first_comment: "Read more: https://example.com/spring"}
  - id: plain
    caption: "Nothing special"
    platforms: [bluesky]
"""


@pytest.fixture
def sims() -> Iterator[Sandbox]:
    box = start_sandbox(persist=False)
    yield box
    box.stop()


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    shutil.copy(SQUARE, tmp_path / "media" / "square.jpg")
    path = tmp_path / "launch.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


def chain_of(box: Sandbox, order: tuple[str, ...] = ("postforme", "late")) -> Chain:
    links = {
        link.label.split(":")[0]: link
        for link in sandbox_links(
            box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
        )
    }
    return Chain([links[name] for name in order], retry=FAST, pending_poll_seconds=5.0)


def batch(path: Path, batch_id: str) -> list[Delivery]:
    return [d for d in expand(load_campaign(path)) if d.batch_id == batch_id]


def test_the_campaign_is_valid_and_routes_what_postforme_cannot_do_to_late(campaign: Path) -> None:
    from postdeck.schemas.routing import route

    report = check_file(campaign)
    assert report.ok, [str(e) for e in report.errors]
    routes = {(p.delivery.batch_id, p.delivery.platform.value): route(p.delivery) for p in report.prepared}
    assert routes[("thread", "twitter")].providers == ("late",)
    assert routes[("thread", "twitter")].reason == "via Zernio (LATE) only: a thread on X"
    assert routes[("comment", "instagram")].providers == ("late",)
    assert routes[("plain", "bluesky")].restricted is False
    thread = next(p.delivery for p in report.prepared if p.delivery.batch_id == "thread")
    assert [p.caption for p in thread.thread] == [
        "2/4 it plans like terraform",
        "3/4 and publishes exactly once",
        "4/4 try it: https://example.com/deck",
    ]
    assert [len(p.media) for p in thread.thread] == [1, 0, 0]
    comments = {
        p.delivery.platform.value: p.delivery.options["first_comment"]
        for p in report.prepared
        if p.delivery.batch_id == "comment"
    }
    assert comments == {"instagram": "#spring #launch", "linkedin": "Read more: https://example.com/spring"}


def test_a_four_part_x_thread_is_published_once_through_late_with_postforme_first(
    sims: Sandbox, campaign: Path, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    chain = chain_of(sims)
    [report] = publish_batch(
        batch(campaign, "thread"), ledger=ledger, chain=chain, owner="run-1", now=lambda: NOW
    )
    assert (report.action, report.status, report.provider) == ("sent", "posted", "late")
    assert sims.postforme.targets() == []  # never offered to PostForMe, which cannot thread
    [published] = sims.late.targets()
    assert published["platform"] == "twitter" and published["status"] == "published"
    assert published["thread"] == [
        "1/4 Deck is out today",
        "2/4 it plans like terraform",
        "3/4 and publishes exactly once",
        "4/4 try it: https://example.com/deck",
    ]
    [post] = sims.late.posts.values()
    items = post["platforms"][0]["platformSpecificData"]["threadItems"]
    assert [len(i.get("mediaItems", [])) for i in items] == [1, 1, 0, 0]  # the caption's and part 2's media
    assert sims.late.creates_by_post_key == {post["metadata"]["postdeck_post_key"]: 1}
    again = publish_batch(
        batch(campaign, "thread"), ledger=ledger, chain=chain, owner="run-2", now=lambda: NOW
    )
    assert [r.action for r in again] == ["unchanged"] and len(sims.late.posts) == 1


def test_a_crash_between_the_thread_create_and_its_record_is_recovered_without_a_second_thread(
    sims: Sandbox, campaign: Path, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")

    class Crash(BaseException):
        pass

    def crash_on_record(*_a: object, **_k: object) -> None:
        raise Crash

    original = ledger.record_many
    ledger.record_many = crash_on_record  # type: ignore[method-assign]  # the worker dies after LATE's reply
    with pytest.raises(Crash):
        publish_batch(
            batch(campaign, "thread"), ledger=ledger, chain=chain_of(sims), owner="dead", now=lambda: NOW
        )
    ledger.record_many = original  # type: ignore[method-assign]
    assert len(sims.late.posts) == 1 and ledger.get("launch/thread/twitter").status == "claimed"

    later = NOW + timedelta(hours=1)  # the dead run's lease is over: the next run takes the claim over
    reports = publish_batch(
        batch(campaign, "thread"), ledger=ledger, chain=chain_of(sims), owner="next", now=lambda: later
    )
    assert [(r.action, r.status, r.provider) for r in reports] == [("recovered", "posted", "late")]
    assert len(sims.late.posts) == 1 and sum(sims.late.creates_by_post_key.values()) == 1
    assert sims.postforme.targets() == []
    assert len(sims.late.targets()[0]["thread"]) == 4


def test_a_first_comment_arrives_with_its_post_and_unrestricted_posts_still_go_to_postforme(
    sims: Sandbox, campaign: Path, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    chain = chain_of(sims)
    reports = publish_batch(
        batch(campaign, "comment"), ledger=ledger, chain=chain, owner="run", now=lambda: NOW
    )
    assert {(r.platform, r.status, r.provider) for r in reports} == {
        ("instagram", "posted", "late"),
        ("linkedin", "posted", "late"),
    }
    rows = {row["platform"]: row for row in sims.late.targets()}
    assert rows["instagram"]["first_comment"] == "#spring #launch"
    assert rows["linkedin"]["first_comment"] == "Read more: https://example.com/spring"
    assert all(row["status"] == "published" for row in rows.values())
    [post] = sims.late.posts.values()  # one create carried both, each with its own comment
    assert {t["platform"]: t["platformSpecificData"]["firstComment"] for t in post["platforms"]} == {
        "instagram": "#spring #launch",
        "linkedin": "Read more: https://example.com/spring",
    }
    plain = publish_batch(batch(campaign, "plain"), ledger=ledger, chain=chain, owner="run", now=lambda: NOW)
    assert [(r.status, r.provider) for r in plain] == [("posted", "postforme")]  # unrestricted: chain order


def test_without_a_provider_that_can_thread_nothing_is_posted_and_the_outcome_says_why(
    sims: Sandbox, campaign: Path, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    [report] = publish_batch(
        batch(campaign, "thread"),
        ledger=ledger,
        chain=chain_of(sims, ("postforme",)),
        owner="run",
        now=lambda: NOW,
    )
    assert report.status == "failed"
    assert report.error is not None and "skipped, via Zernio (LATE) only: a thread on X" in report.error
    assert sims.postforme.targets() == [] and sims.late.targets() == []


def test_an_edited_part_of_a_scheduled_thread_updates_the_one_post_at_late(
    sims: Sandbox, campaign: Path, tmp_path: Path
) -> None:
    from postdeck.engine.apply import apply_scheduled_changes
    from postdeck.engine.plan import Action, make_plan

    ledger = SqliteLedger(tmp_path / "ledger.db")
    chain = chain_of(sims)
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(
        text.replace("  - id: thread\n", "  - id: thread\n    at: 2031-01-01 09:00\n"), "utf-8"
    )
    [sent] = publish_batch(
        batch(campaign, "thread"), ledger=ledger, chain=chain, owner="run", now=lambda: NOW
    )
    assert (sent.status, sent.provider) == ("scheduled", "late")
    campaign.write_text(
        campaign.read_text("utf-8").replace("3/4 and publishes", "3/4 then publishes"), "utf-8"
    )
    plan = make_plan("launch", batch(campaign, "thread"), ledger, NOW)
    assert [c.action for c in plan.changes] == [Action.UPDATE]
    [report] = apply_scheduled_changes(plan, ledger=ledger, chain=chain, now=lambda: NOW)
    assert report.status == "scheduled"
    [post] = sims.late.posts.values()  # the same post, its third part edited: still one thread
    items = post["platforms"][0]["platformSpecificData"]["threadItems"]
    assert [i["content"] for i in items][2] == "3/4 then publishes exactly once"
    assert len(items) == 4 and sims.postforme.targets() == []


def test_post_for_me_s_body_refuses_a_thread_or_a_first_comment_the_chain_should_have_routed_away() -> None:
    from postdeck.core.platform import Platform
    from postdeck.providers.base import Target, ThreadPost
    from postdeck.providers.postforme_wire import configuration

    with pytest.raises(ValueError, match="Post for Me cannot publish a thread"):
        configuration(Target(Platform.TWITTER, "spc_1", "a", thread=(ThreadPost("b"),)), "a")
    with pytest.raises(ValueError, match="or a first comment"):
        configuration(Target(Platform.INSTAGRAM, "spc_1", "a", {"first_comment": "#x"}), "a")
    assert configuration(Target(Platform.INSTAGRAM, "spc_1", "a", {"placement": "reels"}), "a") == {
        "placement": "reels"
    }
