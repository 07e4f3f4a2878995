"""Account lists kept across runs (providers.account_cache): a run reuses a recent list instead of
listing again, and heals each way a kept list can be stale — without ever posting twice.

Real clients against both simulators over loopback, the chain built by postdeck.chain_factory.build_chain
as a run builds it, a real SQLite ledger. Each `run` is a new chain, as every run builds its own."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postdeck.chain_factory import build_chain, close_chain, sandbox_links
from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.errors import PostdeckError
from postdeck.ledger.rows import iso
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.account_cache import MAX_AGE_ENV, AccountCache, account_scope, max_age
from postdeck.providers.base import Account, PostOutcome, PostRequest, TargetResult, TargetStatus
from postdeck.providers.chain import Chain, Link, SendItem
from postdeck.providers.errors import ProviderNotSent, ProviderRejected
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox


class Counted:
    """A provider client that counts its account listings and creates."""

    def __init__(self, provider: Any, calls: Counter[str]) -> None:
        self._provider = provider
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._provider, name)
        if name not in ("accounts", "create"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[f"{self._provider.name} {name}"] += 1
            return attr(*args, **kwargs)

        return counted


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


def run(
    box: Sandbox,
    ledger: SqliteLedger,
    caption: str,
    platforms: tuple[Platform, ...],
    *,
    only: str | None = None,
    scheduled_at: datetime | None = None,
) -> tuple[dict[Platform, Outcome], Counter[str]]:
    """One run's send of one batch: its outcomes and the listings and creates it made."""
    calls: Counter[str] = Counter()
    links = [
        Link(link.label, Counted(link.provider, calls))  # type: ignore[arg-type]
        for link in sandbox_links(
            box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
        )
        if only is None or link.label.startswith(only)
    ]
    chain = build_chain(links, ledger)
    items = [SendItem(f"c/{caption}/{p}", p, f"{caption} ({p})") for p in platforms]
    try:
        outcomes = chain.send(
            items,
            post_key_for=lambda keys: f"pd_{caption}",
            media=(),
            scheduled_at=scheduled_at,
            on_attempt=lambda keys, label, key: None,
        )
    finally:
        close_chain(chain)
    return {item.platform: outcomes[item.key] for item in items}, calls


def posted_at(box: Sandbox) -> dict[str, int]:
    """Targets per simulator that are or may become live (what a duplicate would show up in)."""
    live = [t for t in box.postforme.targets() + box.late.targets() if t["status"] != "failed"]
    return {name: sum(t["provider"] == name for t in live) for name in ("postforme", "late")}


def listed_ago(ledger: SqliteLedger, *, minutes: int) -> None:
    """Date the kept lists back, written as the ledger writes times."""
    with sqlite3.connect(ledger.path) as conn:
        conn.execute(
            "UPDATE account_lists SET listed_at = ?", (iso(datetime.now(UTC) - timedelta(minutes=minutes)),)
        )


def statuses(outcomes: dict[Platform, Outcome]) -> dict[Platform, tuple[str, str | None]]:
    return {p: (o.status.value, o.provider) for p, o in outcomes.items()}


TWO = (Platform.TWITTER, Platform.LINKEDIN)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def postforme_scope(box: Sandbox) -> str:
    [link, _] = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    return account_scope(link.label, link.provider)


def test_a_second_run_reuses_the_list_and_makes_only_its_create(box: Sandbox, ledger: SqliteLedger) -> None:
    first, calls = run(box, ledger, "one", TWO)
    assert statuses(first) == {p: ("posted", "postforme") for p in TWO}
    assert calls == {"postforme accounts": 1, "postforme create": 1}

    second, calls = run(box, ledger, "two", TWO)
    assert statuses(second) == {p: ("posted", "postforme") for p in TWO}
    assert calls == {"postforme create": 1}  # no listing: the first run's list was kept
    assert posted_at(box) == {"postforme": 4, "late": 0}


def test_an_old_list_or_max_age_zero_lists_again(
    box: Sandbox, ledger: SqliteLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(box, ledger, "one", TWO)
    listed_ago(ledger, minutes=14)
    _, calls = run(box, ledger, "two", TWO)
    assert calls["postforme accounts"] == 0  # 14 minutes: still young enough
    listed_ago(ledger, minutes=16)
    _, calls = run(box, ledger, "two-b", TWO)
    assert calls["postforme accounts"] == 1

    monkeypatch.setenv(MAX_AGE_ENV, "0")
    _, calls = run(box, ledger, "three", TWO)
    assert calls["postforme accounts"] == 1
    _, calls = run(box, ledger, "four", TWO)
    assert calls["postforme accounts"] == 1  # 0: every run lists


def test_an_account_gone_since_the_list_is_refused_listed_again_and_sent_there_once(
    box: Sandbox, ledger: SqliteLedger
) -> None:
    run(box, ledger, "one", TWO)
    old = box.postforme.account_for("x")
    with box.postforme._lock:  # X reconnected at PostForMe under a new id
        del box.postforme.accounts[old["id"]]
    new = box.postforme.add_account("x", username="northside")

    outcomes, calls = run(box, ledger, "two", TWO)
    assert statuses(outcomes) == {p: ("posted", "postforme") for p in TWO}
    # The create naming the old id was refused (nothing posted), the list made again, the batch resent.
    assert calls == {"postforme create": 2, "postforme accounts": 1}
    [post] = [p for p in box.postforme.posts.values() if p["caption"].startswith("two")]
    assert new["id"] in post["social_account_ids"] and old["id"] not in post["social_account_ids"]
    assert posted_at(box) == {"postforme": 4, "late": 0}

    _, calls = run(box, ledger, "three", TWO)  # the fresh list was kept
    assert calls == {"postforme create": 1}


def test_an_account_gone_since_the_list_fails_over_alone(box: Sandbox, ledger: SqliteLedger) -> None:
    run(box, ledger, "one", TWO)
    with box.postforme._lock:  # X removed at PostForMe, nothing in its place
        del box.postforme.accounts[box.postforme.account_for("x")["id"]]

    outcomes, calls = run(box, ledger, "two", TWO)
    # Refused (the old id), listed again: LinkedIn is still there and is sent there once more;
    # X is not, and goes to LATE, as it would have with a fresh list.
    assert statuses(outcomes) == {
        Platform.TWITTER: ("posted", "late"),
        Platform.LINKEDIN: ("posted", "postforme"),
    }
    assert calls == {"postforme create": 2, "postforme accounts": 1, "late accounts": 1, "late create": 1}
    assert posted_at(box) == {"postforme": 3, "late": 1}


def test_an_account_disconnected_since_the_list_fails_over_and_the_list_is_dropped(
    box: Sandbox, ledger: SqliteLedger
) -> None:
    run(box, ledger, "one", TWO)
    box.postforme.disconnect_account(box.postforme.account_for("linkedin")["id"])

    outcomes, calls = run(box, ledger, "two", TWO)
    assert statuses(outcomes) == {
        Platform.TWITTER: ("posted", "postforme"),
        Platform.LINKEDIN: ("posted", "late"),
    }
    assert calls["postforme create"] == 1 and calls["late create"] == 1
    assert ledger.cached_accounts(postforme_scope(box), listed_after=LONG_AGO) is None  # next run lists

    outcomes, calls = run(box, ledger, "three", TWO)
    assert calls["postforme accounts"] == 1
    assert statuses(outcomes)[Platform.LINKEDIN] == ("posted", "late")  # not even tried at PostForMe
    assert calls["postforme create"] == 1 and calls["late create"] == 1
    assert posted_at(box) == {"postforme": 4, "late": 2}  # each delivery once


def test_postdeck_accounts_replaces_the_kept_list(box: Sandbox, ledger: SqliteLedger) -> None:
    """PostForMe takes a scheduled post for a disconnected account (it fails at publish time), so a
    kept list cannot find that out by itself: listing the accounts after a change updates it."""
    from postdeck.service.accounts import list_accounts

    tomorrow = datetime.now(UTC) + timedelta(days=1)
    run(box, ledger, "one", TWO, scheduled_at=tomorrow)
    box.postforme.disconnect_account(box.postforme.account_for("linkedin")["id"])
    links = sandbox_links(
        box.postforme_url, box.late_url, postforme_key=SANDBOX_POSTFORME_KEY, late_key=SANDBOX_LATE_KEY
    )
    chain = build_chain(links, ledger)
    try:
        listing = list_accounts(chain)  # what `postdeck accounts` shows
    finally:
        close_chain(chain)
    shown = {(a.platform, a.connected) for a in listing.accounts if a.provider == "postforme"}
    assert ("linkedin", False) in shown

    outcomes, calls = run(box, ledger, "two", TWO, scheduled_at=tomorrow)
    assert statuses(outcomes) == {
        Platform.TWITTER: ("scheduled", "postforme"),
        Platform.LINKEDIN: ("scheduled", "late"),
    }
    assert calls["postforme accounts"] == 0  # the list `postdeck accounts` made


def test_a_platform_connected_since_the_list_is_found_by_listing_again(
    box: Sandbox, ledger: SqliteLedger
) -> None:
    with box.postforme._lock:
        for account in [a for a in box.postforme.accounts.values() if a["platform"] == "pinterest"]:
            del box.postforme.accounts[account["id"]]
    run(box, ledger, "one", TWO, only="postforme")
    box.postforme.add_account("pinterest")

    outcomes, calls = run(box, ledger, "two", (Platform.TWITTER, Platform.PINTEREST), only="postforme")
    assert statuses(outcomes) == {
        Platform.TWITTER: ("posted", "postforme"),
        Platform.PINTEREST: ("posted", "postforme"),
    }
    # Twitter went with the kept list; Pinterest had no account in it, so the list was made again.
    assert calls == {"postforme create": 2, "postforme accounts": 1}


def test_a_platform_no_provider_has_is_failed_after_one_listing(box: Sandbox, ledger: SqliteLedger) -> None:
    with box.postforme._lock:
        for account in [a for a in box.postforme.accounts.values() if a["platform"] == "pinterest"]:
            del box.postforme.accounts[account["id"]]
    run(box, ledger, "one", TWO, only="postforme")
    outcomes, calls = run(box, ledger, "two", (Platform.PINTEREST,), only="postforme")
    assert outcomes[Platform.PINTEREST].status is DeliveryStatus.FAILED
    assert "No connected accounts" in (outcomes[Platform.PINTEREST].error or "")
    assert calls == {"postforme accounts": 1}


def test_the_list_keeps_ids_and_names_never_a_key_or_a_token(box: Sandbox, ledger: SqliteLedger) -> None:
    run(box, ledger, "one", TWO)
    with sqlite3.connect(ledger.path) as conn:
        rows = conn.execute("SELECT scope, accounts FROM account_lists").fetchall()
    assert len(rows) == 1
    scope, accounts = rows[0]
    assert scope.startswith("postforme:") and scope.endswith("@" + box.postforme_url)
    data = scope + accounts
    assert SANDBOX_POSTFORME_KEY not in data and "simat_" not in data and "simrt_" not in data
    assert box.postforme.account_for("x")["id"] in accounts


def test_the_max_age_setting_is_checked() -> None:
    assert max_age({}) == timedelta(minutes=15)
    assert max_age({MAX_AGE_ENV: "60"}) == timedelta(seconds=60)
    assert max_age({MAX_AGE_ENV: "0"}) == timedelta(0)
    assert max_age({MAX_AGE_ENV: "86400"}) == timedelta(days=1)
    for bad in ("-1", "soon", "nan", "inf", "1e20", "86401"):
        with pytest.raises(PostdeckError, match=f"{MAX_AGE_ENV}='{bad}': expected the seconds"):
            max_age({MAX_AGE_ENV: bad})


# --- batches sharing one link while its kept list turns out stale (a fake provider, exact timing) ----

OLD = Account("fake", "old", Platform.TWITTER, "north")
NEW = Account("fake", "new", Platform.TWITTER, "north")


class KeptList(AccountCache):
    def get(self, scope: str, provider: str) -> list[Account] | None:
        return [OLD]


class StaleAtFake:
    """Refuses creates naming the old id. Batch B's create leaves before A's refusal makes the
    chain list again, and B's refusal comes back only once that listing has begun."""

    name = "fake"

    def __init__(self, *, listing_fails: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        self.posted: list[str] = []
        self.listing_fails = listing_fails
        self.b_sent = threading.Event()
        self.listed = threading.Event()

    def accounts(self, **_: Any) -> list[Account]:
        self.calls["accounts"] += 1
        self.listed.set()
        if self.listing_fails:
            time.sleep(0.3)  # B's refusal comes back meanwhile and waits for this listing
            raise ProviderNotSent("connection refused", provider="fake")
        return [NEW]

    def create(self, request: PostRequest) -> PostOutcome:
        self.calls["create"] += 1
        [target] = request.targets
        if request.post_key == "pk-B" and target.account_id == "old":
            self.b_sent.set()
            assert self.listed.wait(10)
        if target.account_id == "old":
            raise ProviderRejected(
                "invalid social accounts, not owned by user",
                provider="fake",
                status=400,
                provider_specific=True,
            )
        self.posted.append(request.post_key)
        return PostOutcome(
            "fake", f"p-{request.post_key}", (TargetResult(Platform.TWITTER, "new", TargetStatus.POSTED),)
        )

    def close(self) -> None:
        return None


def two_batches(fake: StaleAtFake) -> dict[str, Outcome]:
    chain = Chain([Link("fake:owner", fake)], account_cache=KeptList(), sleep=lambda _s: None)  # type: ignore[arg-type]
    outcomes: dict[str, Outcome] = {}

    def batch(name: str) -> None:
        outcomes.update(
            chain.send(
                [SendItem(name, Platform.TWITTER, "hello")],
                post_key_for=lambda keys: f"pk-{name}",
                media=(),
                scheduled_at=None,
                on_attempt=lambda *_: None,
            )
        )

    chain.accounts_of(chain.links[0])  # the warm-up takes the kept list
    b = threading.Thread(target=batch, args=("B",))
    b.start()
    assert fake.b_sent.wait(10)
    batch("A")
    b.join(10)
    return outcomes


def test_a_refusal_that_comes_back_after_another_batch_listed_again_is_resent_with_the_new_list() -> None:
    fake = StaleAtFake()
    outcomes = two_batches(fake)
    assert {k: o.status for k, o in outcomes.items()} == {
        "A": DeliveryStatus.POSTED,
        "B": DeliveryStatus.POSTED,
    }
    assert fake.calls == {"create": 4, "accounts": 1}  # A listed; B used A's list
    assert sorted(fake.posted) == ["pk-A", "pk-B"]  # each once


def test_when_listing_again_fails_nothing_is_resent_with_the_same_stale_list() -> None:
    fake = StaleAtFake(listing_fails=True)
    outcomes = two_batches(fake)
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.FAILED}
    assert fake.calls == {"create": 2, "accounts": 1}  # one create per batch, one listing per run
    assert fake.posted == []
