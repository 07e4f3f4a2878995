"""The failover chain's decisions, with in-memory providers (unit level; loopback tests cover the wire)."""

from __future__ import annotations

import pytest

from postdeck.ledger.base import DeliveryStatus
from postdeck.providers.base import Platform
from postdeck.providers.chain import Chain, Link, SendItem
from postdeck.providers.errors import ProviderMaybeSent, ProviderNotSent, ProviderRejected, ProviderThrottled
from tests.fakes import FakeProvider

ITEMS = [SendItem("c/a/twitter", Platform.TWITTER, "hi"), SendItem("c/a/bluesky", Platform.BLUESKY, "hi")]


def send(chain: Chain, items=ITEMS, attempts: list | None = None):
    attempts = attempts if attempts is not None else []
    return chain.send(
        items,
        post_key_for=lambda keys: "pk-" + "+".join(sorted(keys)),
        media=(),
        scheduled_at=None,
        on_attempt=lambda keys, label, key: attempts.append((label, key)),
    )


def raiser(error: Exception):
    def before(_request):
        raise error

    return before


def err(cls, **kw):
    return cls("boom", provider="p", **kw)


def test_first_provider_serves_everything_with_one_create() -> None:
    first, second = FakeProvider("first"), FakeProvider("second")
    attempts: list = []
    outcomes = send(Chain([Link("first:global", first), Link("second:global", second)]), attempts=attempts)
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.POSTED}
    assert len(first.creates) == 1 and second.creates == []
    assert attempts == [("first:global", "pk-c/a/bluesky+c/a/twitter")]


def test_not_sent_fails_over() -> None:
    first = FakeProvider("first", before_create=raiser(err(ProviderNotSent)))
    second = FakeProvider("second")
    outcomes = send(Chain([Link("first:g", first), Link("second:g", second)]))
    assert {o.provider for o in outcomes.values()} == {"second"} and len(second.creates) == 1


def test_content_rejection_does_not_fail_over_but_provider_specific_does() -> None:
    second = FakeProvider("second")
    content = FakeProvider("first", before_create=raiser(err(ProviderRejected, status=400)))
    outcomes = send(Chain([Link("first:g", content), Link("second:g", second)]))
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.FAILED} and second.creates == []
    bad_key = FakeProvider(
        "first", before_create=raiser(err(ProviderRejected, status=401, provider_specific=True))
    )
    outcomes = send(Chain([Link("first:g", bad_key), Link("second:g", second)]))
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.POSTED} and len(second.creates) == 1


def test_throttled_waits_and_retries_the_same_provider() -> None:
    calls = {"n": 0}

    def throttle_once(_request):
        calls["n"] += 1
        if calls["n"] == 1:
            raise err(ProviderThrottled, status=429, retry_after=2.5)

    slept: list[float] = []
    first, second = FakeProvider("first", before_create=throttle_once), FakeProvider("second")
    outcomes = send(Chain([Link("f:g", first), Link("s:g", second)], sleep=slept.append))
    assert slept == [2.5] and len(first.creates) == 1 and second.creates == []
    assert {o.provider for o in outcomes.values()} == {"first"}


def test_maybe_sent_that_was_stored_is_adopted_not_resent() -> None:
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent, status=500))
    second = FakeProvider("second")
    outcomes = send(Chain([Link("f:g", first), Link("s:g", second)]))
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.POSTED}
    assert len(first.creates) == 1 and second.creates == []


def test_maybe_sent_with_a_failed_lookup_is_unknown_and_never_sent_elsewhere() -> None:
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent), lookup_error=err(ProviderNotSent))
    second = FakeProvider("second")
    outcomes = send(Chain([Link("f:g", first), Link("s:g", second)]))
    assert {o.status for o in outcomes.values()} == {DeliveryStatus.UNKNOWN}
    assert all("lookup failed" in (o.error or "") for o in outcomes.values()) and second.creates == []


def test_maybe_sent_but_absent_at_lookup_fails_over() -> None:
    first = FakeProvider("first", before_create=raiser(err(ProviderMaybeSent)))
    second = FakeProvider("second")
    outcomes = send(Chain([Link("f:g", first), Link("s:g", second)]))
    assert {o.provider for o in outcomes.values()} == {"second"}


def test_platforms_without_an_account_go_to_the_provider_that_has_one() -> None:
    first = FakeProvider("first", platforms=(Platform.TWITTER,))
    second = FakeProvider("second")
    outcomes = send(Chain([Link("f:g", first), Link("s:g", second)]))
    assert outcomes["c/a/twitter"].provider == "first" and outcomes["c/a/bluesky"].provider == "second"


def test_no_account_anywhere_fails_with_the_seeds_message() -> None:
    outcomes = send(Chain([Link("f:g", FakeProvider("first", platforms=()))]))
    assert outcomes["c/a/twitter"].status == DeliveryStatus.FAILED
    assert outcomes["c/a/twitter"].error == "No connected accounts for: ['twitter']"


def test_an_attempt_that_cannot_be_recorded_sends_nothing() -> None:
    first = FakeProvider("first")

    def refuse(*_args):
        raise RuntimeError("ledger down")

    with pytest.raises(RuntimeError):
        Chain([Link("f:g", first)]).send(
            ITEMS, post_key_for=lambda k: "pk", media=(), scheduled_at=None, on_attempt=refuse
        )
    assert first.creates == []
