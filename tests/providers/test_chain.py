"""The failover chain's decisions, with in-memory providers (unit level; loopback tests cover the wire).

Every test counts creates at each fake provider: the chain may post a delivery at most once.
"""

from __future__ import annotations

import hashlib
import logging
import random
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.providers.base import PostRequest, Target
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.chain import Chain, Link, RetryPolicy, SendItem
from postdeck.providers.errors import (
    ProviderLookupIncomplete,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnsupported,
)
from postdeck.schemas.media import MediaRef
from tests.fakes import FakeProvider

ITEMS = [SendItem("c/a/twitter", Platform.TWITTER, "hi"), SendItem("c/a/bluesky", Platform.BLUESKY, "hi")]


def post_key(keys: list[str]) -> str:
    return "pk-" + "+".join(sorted(keys))


def make(*links: Link, **options) -> tuple[Chain, list[float]]:
    slept: list[float] = []
    options.setdefault("retry", RetryPolicy(settle_before_lookup=0.5))
    chain = Chain(list(links), sleep=slept.append, rng=random.Random(7), **options)
    return chain, slept


def send(chain: Chain, items=ITEMS, attempts: list | None = None, media=()):
    attempts = attempts if attempts is not None else []
    return chain.send(
        items,
        post_key_for=post_key,
        media=media,
        scheduled_at=None,
        on_attempt=lambda keys, label, key: attempts.append((label, key)),
    )


def raising(*errors: Exception | None):
    """before_create raising these in turn (None: let that create through)."""
    queue = list(errors)

    def before(_request: PostRequest) -> None:
        error = queue.pop(0) if queue else None
        if error is not None:
            raise error

    return before


def err(cls, **kw):
    return cls("boom", provider="p", **kw)


def statuses(outcomes) -> set[DeliveryStatus]:
    return {o.status for o in outcomes.values()}


def test_first_provider_serves_everything_with_one_create() -> None:
    first, second = FakeProvider("first"), FakeProvider("second")
    attempts: list = []
    chain, slept = make(Link("first:global", first), Link("second:global", second))
    outcomes = send(chain, attempts=attempts)
    assert statuses(outcomes) == {DeliveryStatus.POSTED}
    assert len(first.creates) == 1 and second.creates == [] and slept == []
    assert attempts == [("first:global", "pk-c/a/bluesky+c/a/twitter")]


def test_not_sent_is_retried_at_the_same_provider_with_backoff_before_failing_over() -> None:
    first = FakeProvider("first", before_create=raising(err(ProviderNotSent), None))
    second = FakeProvider("second")
    attempts: list = []
    chain, slept = make(Link("first:g", first), Link("second:g", second))
    outcomes = send(chain, attempts=attempts)
    assert {o.provider for o in outcomes.values()} == {"first"} and second.creates == []
    assert len(first.creates) == 1 and len(slept) == 1 and 0.25 <= slept[0] <= 0.5  # jittered
    assert [label for label, _ in attempts] == ["first:g", "first:g"]  # recorded before each create


def test_not_sent_twice_fails_over_and_the_reason_names_the_provider() -> None:
    first = FakeProvider("first", before_create=raising(err(ProviderNotSent), err(ProviderNotSent)))
    second = FakeProvider("second")
    chain, _ = make(Link("first:g", first), Link("second:g", second))
    outcomes = send(chain)
    assert {o.provider for o in outcomes.values()} == {"second"} and len(second.creates) == 1
    assert first.creates == []


def test_everything_not_sent_everywhere_fails_with_every_reason() -> None:
    down = [FakeProvider(n, before_create=raising(*[err(ProviderNotSent)] * 4)) for n in ("a", "b")]
    chain, _ = make(Link("a:g", down[0]), Link("b:g", down[1]))
    outcome = send(chain)["c/a/twitter"]
    assert outcome.status == DeliveryStatus.FAILED
    assert outcome.error.count("boom") == 2 and "a:g" in outcome.error and "b:g" in outcome.error


def test_content_rejection_does_not_fail_over_but_provider_specific_does() -> None:
    second = FakeProvider("second")
    content = FakeProvider("first", before_create=raising(err(ProviderRejected, status=400)))
    chain, _ = make(Link("first:g", content), Link("second:g", second))
    outcomes = send(chain)
    assert statuses(outcomes) == {DeliveryStatus.FAILED} and second.creates == []
    assert all(o.provider == "first" and "boom" in o.error for o in outcomes.values())

    bad_key = FakeProvider(
        "first", before_create=raising(*[err(ProviderRejected, status=401, provider_specific=True)] * 3)
    )
    chain, _ = make(Link("first:g", bad_key), Link("second:g", second))
    assert statuses(send(chain)) == {DeliveryStatus.POSTED} and len(second.creates) == 1
    # A bad key stays bad for the run: the next batch does not knock on that door again.
    assert chain.link("first:g").disabled
    send(chain, [SendItem("c/b/twitter", Platform.TWITTER, "yo")])
    assert len(second.creates) == 2


def test_a_refused_account_fails_over_alone_and_the_rest_is_sent_here_again() -> None:
    disconnected = err(ProviderRejected, status=403, provider_specific=True, platforms=("bluesky",))
    first = FakeProvider("first", before_create=raising(disconnected))
    second = FakeProvider("second")
    attempts: list = []
    chain, _ = make(Link("first:g", first), Link("second:g", second))
    outcomes = send(chain, attempts=attempts)
    assert outcomes["c/a/twitter"].provider == "first" and outcomes["c/a/bluesky"].provider == "second"
    assert first.creates == ["pk-c/a/twitter"] and second.creates == ["pk-c/a/bluesky"]
    assert attempts == [
        ("first:g", "pk-c/a/bluesky+c/a/twitter"),
        ("first:g", "pk-c/a/twitter"),
        ("second:g", "pk-c/a/bluesky"),
    ]
    assert Platform.BLUESKY not in chain.link("first:g").accounts()  # for the rest of the run


def test_throttled_waits_as_told_and_retries_the_same_provider() -> None:
    first = FakeProvider("first", before_create=raising(err(ProviderThrottled, status=429, retry_after=2.5)))
    second = FakeProvider("second")
    chain, slept = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert slept == [2.5] and len(first.creates) == 1 and second.creates == []
    assert {o.provider for o in outcomes.values()} == {"first"}


def test_throttled_beyond_the_limit_goes_on_and_throttling_never_opens_the_breaker() -> None:
    first = FakeProvider("first", before_create=raising(*[err(ProviderThrottled, retry_after=500)] * 10))
    second = FakeProvider("second")
    chain, slept = make(Link("f:g", first), Link("s:g", second), max_throttle_waits=2)
    outcomes = send(chain)
    assert {o.provider for o in outcomes.values()} == {"second"}
    assert slept == [60.0, 60.0]  # capped waits
    assert not chain.breaker.is_open("first")


def test_maybe_sent_that_was_stored_is_adopted_not_resent() -> None:
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent, status=500))
    second = FakeProvider("second")
    chain, slept = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert statuses(outcomes) == {DeliveryStatus.POSTED}
    assert (
        len(first.creates) == 1 and second.creates == [] and first.lookups == ["pk-c/a/bluesky+c/a/twitter"]
    )
    assert slept == []  # a 5xx is a finished answer: no need to let the provider settle


def test_a_timeout_lets_the_provider_settle_before_the_lookup() -> None:
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent))  # no status: a read timeout
    chain, slept = make(Link("f:g", first))
    assert statuses(send(chain)) == {DeliveryStatus.POSTED}
    assert slept == [0.5] and len(first.creates) == 1


def test_maybe_sent_with_a_failed_lookup_is_unknown_and_never_sent_elsewhere() -> None:
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent), lookup_error=err(ProviderNotSent))
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert statuses(outcomes) == {DeliveryStatus.UNKNOWN}
    assert all("lookup failed" in (o.error or "") for o in outcomes.values()) and second.creates == []
    assert (
        len(first.lookups) == RetryPolicy().lookup_attempts
    )  # a lookup is a read: repeated before giving up


def test_an_incomplete_lookup_is_unknown_asked_once_and_never_sent_elsewhere() -> None:
    """Issue 18: a lookup that stopped at its page cap said "absent", and the chain failed over."""
    first = FakeProvider(
        "first", fail_after_store=err(ProviderMaybeSent), lookup_error=err(ProviderLookupIncomplete)
    )
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    before = datetime.now(UTC)
    outcomes = send(chain)
    assert statuses(outcomes) == {DeliveryStatus.UNKNOWN} and second.creates == []
    assert len(first.lookups) == 1  # the same search would stop at the same place: not repeated
    (since,) = first.lookup_since  # searched back to the attempt, not the whole list
    assert since is not None and before <= since <= datetime.now(UTC)


def test_maybe_sent_but_absent_is_retried_at_the_same_provider_only_after_the_lookup() -> None:
    calls: list[str] = []
    first = FakeProvider("first", before_create=raising(err(ProviderMaybeSent, status=502), None))
    original_lookup = first.lookup
    first.lookup = lambda key, since=None: calls.append("lookup") or original_lookup(key, since=since)  # type: ignore[method-assign]
    original_create = first.create
    first.create = lambda request: calls.append("create") or original_create(request)  # type: ignore[method-assign]
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert {o.provider for o in outcomes.values()} == {"first"}
    assert calls == ["create", "lookup", "create"] and len(first.creates) == 1 and second.creates == []


def test_maybe_sent_absent_twice_fails_over() -> None:
    first = FakeProvider(
        "first", before_create=raising(err(ProviderMaybeSent, status=503), err(ProviderMaybeSent, status=503))
    )
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert {o.provider for o in outcomes.values()} == {"second"} and first.creates == []
    assert len(first.lookups) == 2  # each absent verdict came from a lookup before the next step


def test_partial_results_fail_over_only_the_platforms_another_provider_could_fix() -> None:
    items = [*ITEMS, SendItem("c/a/tiktok", Platform.TIKTOK, "hi")]
    first = FakeProvider(
        "first",
        failing={
            Platform.BLUESKY: ("access token expired: reconnect the account", True),
            Platform.TIKTOK: ("video too short", False),
        },
    )
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain, items)
    assert (
        outcomes["c/a/twitter"].provider == "first"
        and outcomes["c/a/twitter"].status == DeliveryStatus.POSTED
    )
    assert (
        outcomes["c/a/bluesky"].provider == "second"
        and outcomes["c/a/bluesky"].status == DeliveryStatus.POSTED
    )
    tiktok = outcomes["c/a/tiktok"]
    assert (tiktok.provider, tiktok.status, tiktok.error) == (
        "first",
        DeliveryStatus.FAILED,
        "video too short",
    )
    assert second.creates == ["pk-c/a/bluesky"]  # only the platform another provider could fix


def test_breaker_opens_after_consecutive_failures_logs_once_and_closes_after_the_cooldown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30.0, clock=lambda: now[0])
    first = FakeProvider("first", before_create=raising(*[err(ProviderNotSent)] * 3))
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second), breaker=breaker)
    caplog.set_level(logging.WARNING, "postdeck.chain")

    send(chain)  # two failures: retried, then failed over
    send(chain, [SendItem("c/b/twitter", Platform.TWITTER, "b")])  # third: open
    assert breaker.is_open("first")
    send(chain, [SendItem("c/c/twitter", Platform.TWITTER, "c")])  # skipped without a call
    assert first.creates == [] and len(second.creates) == 3
    opened = [r for r in caplog.records if "circuit open" in r.getMessage()]
    assert len(opened) == 1 and "first" in opened[0].getMessage()

    now[0] = 31.0  # cooled down: the provider is tried again, and it has recovered
    outcomes = send(chain, [SendItem("c/d/twitter", Platform.TWITTER, "d")])
    assert outcomes["c/d/twitter"].provider == "first" and not breaker.is_open("first")


def test_guard_wraps_every_provider_call_with_the_provider_name(tmp_path: Path) -> None:
    entered: list[str] = []

    @contextmanager
    def guard(name: str):
        entered.append(name)
        yield

    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    ref = MediaRef(
        source="a.png",
        path=image,
        sha256=hashlib.sha256(image.read_bytes()).hexdigest(),
        content_type="image/png",
    )
    first = FakeProvider("first", fail_after_store=err(ProviderMaybeSent, status=500))
    chain, _ = make(Link("f:g", first), guard=guard)
    send(chain, media=(ref,))
    assert entered == ["first"] * 4  # accounts, upload, create, lookup
    chain.cancel("f:g", "first-post-1")
    assert entered[-1] == "first" and len(entered) == 5


def test_media_is_uploaded_once_per_provider(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    ref = MediaRef(source="a.png", path=image, sha256="abc", content_type="image/png")

    class Cache:
        def __init__(self) -> None:
            self.urls: dict[tuple[str, str], str] = {}

        def get(self, sha256: str, provider: str) -> str | None:
            return self.urls.get((sha256, provider))

        def put(self, sha256: str, provider: str, url: str) -> None:
            self.urls[(sha256, provider)] = url

    first = FakeProvider("first")
    chain, _ = make(Link("f:g", first), media_cache=Cache())
    send(chain, media=(ref,))
    send(chain, [SendItem("c/b/twitter", Platform.TWITTER, "b")], media=(ref,))
    assert len(first.uploads) == 1
    assert [p.media_urls for p in first.posts.values()] == [("https://media.first.test/1/a.png",)] * 2


def test_platforms_without_an_account_go_to_the_provider_that_has_one() -> None:
    first = FakeProvider("first", platforms=(Platform.TWITTER,))
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    outcomes = send(chain)
    assert outcomes["c/a/twitter"].provider == "first" and outcomes["c/a/bluesky"].provider == "second"


def test_a_provider_whose_accounts_cannot_be_listed_is_passed_over() -> None:
    first = FakeProvider("first", accounts_error=err(ProviderNotSent))
    second = FakeProvider("second")
    chain, _ = make(Link("f:g", first), Link("s:g", second))
    assert {o.provider for o in send(chain).values()} == {"second"}


def test_no_account_anywhere_fails_with_the_seeds_message() -> None:
    chain, _ = make(Link("f:g", FakeProvider("first", platforms=())))
    outcomes = send(chain)
    assert outcomes["c/a/twitter"].status == DeliveryStatus.FAILED
    assert outcomes["c/a/twitter"].error == "No connected accounts for: ['twitter']"


def test_an_attempt_that_cannot_be_recorded_sends_nothing() -> None:
    first = FakeProvider("first")

    def refuse(*_args):
        raise RuntimeError("ledger down")

    chain, _ = make(Link("f:g", first))
    with pytest.raises(RuntimeError):
        chain.send(ITEMS, post_key_for=lambda k: "pk", media=(), scheduled_at=None, on_attempt=refuse)
    assert first.creates == []


def test_recover_adopts_a_found_post_and_is_unknown_when_a_lookup_cannot_tell() -> None:
    first = FakeProvider("first")
    first.create(PostRequest("pk-1", "hi", (Target(Platform.TWITTER, "first-twitter", "hi"),)))
    chain, _ = make(Link("f:g", first), Link("s:g", FakeProvider("second")))
    found = chain.recover("pk-1", ["s:g", "f:g"], Platform.TWITTER)
    assert found is not None and found.status == DeliveryStatus.POSTED and found.provider == "first"
    assert chain.recover("pk-2", ["f:g"], Platform.TWITTER) is None
    assert chain.recover("pk-1", ["gone:g"], Platform.TWITTER).status == DeliveryStatus.UNKNOWN
    first.lookup_error = err(ProviderNotSent)
    assert chain.recover("pk-1", ["f:g"], Platform.TWITTER).status == DeliveryStatus.UNKNOWN
    # A post whose target failed for this provider's own reason never reached the platform: resend.
    first.lookup_error, first.failing = None, {Platform.TWITTER: ("token revoked: reconnect", True)}
    assert chain.recover("pk-1", ["f:g"], Platform.TWITTER) is None
    first.failing = {Platform.TWITTER: ("too long", False)}
    assert chain.recover("pk-1", ["f:g"], Platform.TWITTER).status == DeliveryStatus.FAILED


def test_plan_operations_go_to_the_named_link_and_retry_needs_a_provider_that_can() -> None:
    first = FakeProvider("first")
    outcome = first.create(PostRequest("pk-1", "hi", (Target(Platform.TWITTER, "first-twitter", "hi"),)))
    chain, _ = make(Link("f:g", first))
    changed = chain.update("f:g", outcome.provider_post_id, PostRequest("pk-1", "new", ()))
    assert (
        changed.provider_post_id == outcome.provider_post_id
        and first.posts[outcome.provider_post_id].caption == "new"
    )
    with pytest.raises(ProviderUnsupported):
        chain.retry_post("f:g", outcome.provider_post_id)
    chain.cancel("f:g", outcome.provider_post_id)
    assert first.posts == {}
    with pytest.raises(ProviderRejected):
        chain.cancel("nowhere:g", "x")


def test_a_refused_key_met_while_listing_disables_the_link_for_the_run_wherever_it_is_met() -> None:
    """The flow's warm-up lists through Chain.accounts_of too: the batches then skip the link at once."""
    refused = FakeProvider("first", accounts_error=ProviderRejected("HTTP 401", provider="first", status=401))
    chain = Chain([Link("first:g", refused), Link("second:g", FakeProvider("second"))])
    with pytest.raises(ProviderRejected):
        chain.accounts_of(chain.links[0])
    assert chain.links[0].disabled and "401" in chain.links[0].disabled
    outcomes = chain.send(
        [SendItem("c/a/twitter", Platform.TWITTER, "hello")],
        post_key_for=lambda keys: "pk",
        media=(),
        scheduled_at=None,
        on_attempt=lambda *_: None,
    )
    assert outcomes["c/a/twitter"].provider == "second"

    # Anything else (unreachable, 5xx) leaves the link for the next batch to try again.
    down = FakeProvider("first", accounts_error=ProviderNotSent("refused", provider="first"))
    chain = Chain([Link("first:g", down)])
    with pytest.raises(ProviderNotSent):
        chain.accounts_of(chain.links[0])
    assert chain.links[0].disabled is None
