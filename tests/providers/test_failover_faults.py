"""Each fault, end to end: real HTTP on loopback, both clients against both simulators, the chain in
between. For each: the classification the client made, what the chain did about it, and afterwards
every delivery posted exactly once (or `unknown`), never twice — counted in the simulators."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from postdeck.chain_factory import sandbox_links
from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.providers.breaker import CircuitBreaker
from postdeck.providers.chain import Chain, Link, RetryPolicy, SendItem
from postdeck.providers.errors import ProviderError
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox

PLATFORMS = (Platform.TWITTER, Platform.BLUESKY, Platform.INSTAGRAM)
FAST = RetryPolicy(settle_before_lookup=0.05, backoff_initial=0.02, backoff_max=0.05)
TIMEOUT = httpx.Timeout(0.5, connect=1.0)
WATCHED = ("create", "lookup", "accounts")


class Recorded:
    """A provider client that notes what each create and lookup came to, as the chain saw it."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self.name = provider.name
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._provider, name)
        if name not in WATCHED:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attr(*args, **kwargs)
            except ProviderError as exc:
                self.calls.append((name, str(exc.kind)))
                raise
            verdict = "ok"
            if name == "lookup":
                verdict = "found" if result is not None else "absent"
            self.calls.append((name, verdict))
            return result

        return call

    def posting(self) -> list[tuple[str, str]]:
        """Creates and lookups only."""
        return [c for c in self.calls if c[0] != "accounts"]


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = start_sandbox(persist=False)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(box: Sandbox) -> Iterator[Sandbox]:
    for sim, server in ((box.postforme, box.postforme_server), (box.late, box.late_server)):
        server.set_down(False)
        sim.reset()
    yield box
    for server in (box.postforme_server, box.late_server):
        server.set_down(False)


def chain_of(box: Sandbox, order: tuple[str, ...] = ("postforme", "late"), **options: Any) -> Chain:
    links = {
        link.label.split(":")[0]: Link(link.label, Recorded(link.provider))  # type: ignore[arg-type]
        for link in sandbox_links(
            box.postforme_url,
            box.late_url,
            postforme_key=SANDBOX_POSTFORME_KEY,
            late_key=SANDBOX_LATE_KEY,
            timeout=TIMEOUT,
        )
    }
    options.setdefault("breaker", CircuitBreaker(threshold=10))
    options.setdefault("retry", FAST)
    return Chain([links[name] for name in order], pending_poll_seconds=5.0, **options)


def send(chain: Chain, caption: str, platforms=PLATFORMS) -> dict[Platform, Outcome]:
    items = [SendItem(f"c/{caption}/{p}", p, caption) for p in platforms]
    attempts: list[tuple[str, str]] = []
    outcomes = chain.send(
        items,
        post_key_for=lambda keys: "pd_" + str(abs(hash(tuple(sorted(keys))))),
        media=(),
        scheduled_at=None,
        on_attempt=lambda keys, label, key: attempts.append((label, key)),
    )
    return {item.platform: outcomes[item.key] for item in items}


def live_targets(box: Sandbox) -> Counter[tuple[str, str]]:
    """(caption, platform) of every target that is or may become live, in both simulators."""
    rows = box.postforme.targets() + box.late.targets()
    return Counter((r["caption"], r["platform"]) for r in rows if r["status"] in ("published", "pending"))


def assert_exactly_once(box: Sandbox, caption: str, outcomes: dict[Platform, Outcome]) -> None:
    live = live_targets(box)
    for platform, outcome in outcomes.items():
        count = live[(caption, platform.value)]
        if outcome.status == DeliveryStatus.POSTED:
            assert count == 1, f"{platform}: posted {count} times"
        elif outcome.status == DeliveryStatus.UNKNOWN:
            assert count <= 1 and outcome.error
        else:
            assert count == 0 and outcome.error, f"{platform}: {outcome}"
    # And no post key was ever stored twice at one provider.
    assert all(n == 1 for n in box.postforme.stats()["creates_by_external_id"].values())
    assert all(n == 1 for n in box.late.stats()["creates_by_post_key"].values())


@dataclass(frozen=True)
class Case:
    id: str
    rules: tuple[FaultRule, ...]
    calls: list[tuple[str, str]]  # at the faulted provider
    expect: dict[Platform, tuple[DeliveryStatus, str]]  # platform → (status, provider)
    faulted: str = "postforme"
    order: tuple[str, ...] = ("postforme", "late")


POSTED, FAILED, UNKNOWN = DeliveryStatus.POSTED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN
CLAIMED = DeliveryStatus.CLAIMED  # the chain's "not sent anywhere, for a reason that passes"
ALL_PFM = {p: (POSTED, "postforme") for p in PLATFORMS}
ALL_LATE = {p: (POSTED, "late") for p in PLATFORMS}
CREATE = ("create",)


def once(kind: str, **rule: Any) -> FaultRule:
    return FaultRule(kind=kind, ops=rule.pop("ops", CREATE), count=rule.pop("count", 1), **rule)  # type: ignore[arg-type]


CASES = [
    Case("latency", (once("latency", min_s=0.1, max_s=0.2),), [("create", "ok")], ALL_PFM),
    Case(
        "5xx before the work: maybe sent, looked up, absent, sent again",
        (once("status", status=503),),
        [("create", "maybe_sent"), ("lookup", "absent"), ("create", "ok")],
        ALL_PFM,
    ),
    Case(
        "500 after storing: maybe sent, found, adopted",
        (once("status", status=500, after_store=True),),
        [("create", "maybe_sent"), ("lookup", "found")],
        ALL_PFM,
    ),
    Case(
        "429 burst: waited, same provider",
        (once("throttle", burst=2, retry_after=0.1),),
        [("create", "throttled"), ("create", "throttled"), ("create", "ok")],
        ALL_PFM,
    ),
    Case(
        "read timeout after the post was stored: found, adopted",
        (once("timeout", hang_s=3),),
        [("create", "maybe_sent"), ("lookup", "found")],
        ALL_PFM,
    ),
    Case(
        "reset before the work: absent at lookup, sent again",
        (once("reset"),),
        [("create", "maybe_sent"), ("lookup", "absent"), ("create", "ok")],
        ALL_PFM,
    ),
    Case(
        "reset after storing: found, adopted",
        (once("reset", after_store=True),),
        [("create", "maybe_sent"), ("lookup", "found")],
        ALL_PFM,
    ),
    Case(
        "a platform refuses the content: it stays failed",
        (once("partial", platforms=("instagram",), reason="content", ops=None),),
        [("create", "ok")],
        {**ALL_PFM, Platform.INSTAGRAM: (FAILED, "postforme")},
    ),
    Case(
        "one account's connection fails: only that platform fails over",
        (once("partial", platforms=("instagram",), reason="account", ops=None),),
        [("create", "ok")],
        {**ALL_PFM, Platform.INSTAGRAM: (POSTED, "late")},
    ),
    Case(
        "an account disconnected after the listing: it fails over alone",
        (once("disconnect", platforms=("bluesky",), after_requests=1, ops=None),),
        [("create", "ok")],
        {**ALL_PFM, Platform.BLUESKY: (POSTED, "late")},
    ),
    Case(
        "the provider goes down after listing accounts: not sent, retried, failed over",
        (once("down", for_s=1.5, ops=("accounts",)),),
        [("create", "not_sent"), ("create", "not_sent")],
        ALL_LATE,
    ),
    Case(
        "maybe sent and the lookup cannot tell: unknown, never sent elsewhere",
        (once("timeout", hang_s=3), FaultRule(kind="status", status=503, ops=("list",))),
        [("create", "maybe_sent")] + [("lookup", "not_sent")] * FAST.lookup_attempts,
        {p: (UNKNOWN, "postforme") for p in PLATFORMS},
    ),
    # Finding 1 (issue 18): a lookup throttled or failing for a while was "cannot tell" at once.
    Case(
        "503 before storing, then a 429 burst on the lookup: waited as told, absent, sent again",
        (once("status", status=503), once("throttle", ops=("list",), burst=3, retry_after=0.1)),
        [("create", "maybe_sent")] + [("lookup", "throttled")] * 3 + [("lookup", "absent"), ("create", "ok")],
        ALL_PFM,
    ),
    Case(
        "503 before storing, then the lookup fails transiently a while: looked again, absent, sent",
        (once("status", status=503), once("status", status=503, ops=("list",), count=4)),
        [("create", "maybe_sent")] + [("lookup", "not_sent")] * 4 + [("lookup", "absent"), ("create", "ok")],
        ALL_PFM,
    ),
    Case(
        "LATE 502 before storing, then a 429 burst on the lookup: waited, absent, sent again",
        (once("status", status=502), once("throttle", ops=("list",), burst=3, retry_after=0.1)),
        [("create", "maybe_sent")] + [("lookup", "throttled")] * 3 + [("lookup", "absent"), ("create", "ok")],
        ALL_LATE,
        faulted="late",
        order=("late",),
    ),
    Case(
        "maybe sent, absent twice: failed over",
        (once("status", status=503, count=2),),
        [("create", "maybe_sent"), ("lookup", "absent"), ("create", "maybe_sent"), ("lookup", "absent")],
        ALL_LATE,
    ),
    # LATE: synchronous publishNow, x-request-id and the metadata lookup.
    Case(
        "LATE read timeout after publishing: found by its metadata",
        (once("timeout", hang_s=3),),
        [("create", "maybe_sent"), ("lookup", "found")],
        ALL_LATE,
        faulted="late",
        order=("late",),
    ),
    Case(
        "LATE 502 before the work: absent, sent again with the same x-request-id",
        (once("status", status=502),),
        [("create", "maybe_sent"), ("lookup", "absent"), ("create", "ok")],
        ALL_LATE,
        faulted="late",
        order=("late",),
    ),
    Case(
        "LATE reset after storing: found",
        (once("reset", after_store=True),),
        [("create", "maybe_sent"), ("lookup", "found")],
        ALL_LATE,
        faulted="late",
        order=("late",),
    ),
    Case(
        "LATE refuses a disconnected account by name: the rest again at LATE, that one elsewhere",
        (once("disconnect", platforms=("instagram",), after_requests=1, ops=None),),
        [("create", "rejected"), ("create", "ok")],
        {**ALL_LATE, Platform.INSTAGRAM: (POSTED, "postforme")},
        faulted="late",
        order=("late", "postforme"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(sandbox: Sandbox, case: Case) -> None:
    sim = sandbox.postforme if case.faulted == "postforme" else sandbox.late
    sim.faults.set_plan(FaultPlan(seed=1, rules=case.rules))
    chain = chain_of(sandbox, case.order)
    caption = f"fault {case.id}"

    outcomes = send(chain, caption)

    faulted = chain.link(f"{case.faulted}:sandbox").provider
    assert faulted.posting() == case.calls  # type: ignore[attr-defined]
    assert {p: (o.status, o.provider) for p, o in outcomes.items()} == case.expect
    assert_exactly_once(sandbox, caption, outcomes)
    assert sum(sim.faults.fired.values()) >= 1


def test_a_whole_provider_down_opens_the_breaker_once(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.postforme_server.set_down(True)
    chain = chain_of(sandbox, breaker=CircuitBreaker(threshold=3, cooldown=60))
    caplog.set_level(logging.WARNING, "postdeck.chain")
    pfm = chain.link("postforme:sandbox").provider
    for n in range(4):
        outcomes = send(chain, f"breaker {n}", (Platform.TWITTER,))
        assert outcomes[Platform.TWITTER].provider == "late"
    # Three refused connections (listing its accounts, once per batch) open it; the fourth batch
    # does not knock at all.
    assert pfm.calls == [("accounts", "not_sent")] * 3  # type: ignore[attr-defined]
    assert chain.breaker.is_open("postforme")
    opened = [r.getMessage() for r in caplog.records if "circuit open" in r.getMessage()]
    assert len(opened) == 1 and opened[0].startswith("postforme: circuit open")
    alone = Chain([chain.link("postforme:sandbox")], breaker=chain.breaker, retry=FAST)
    skipped = send(alone, "breaker alone", (Platform.TWITTER,))[Platform.TWITTER]
    # Not tried anywhere, for a reason that passes: not a failure, the caller gives the claim back.
    assert skipped.status == CLAIMED and "not sent anywhere" in skipped.error
    assert "skipped, circuit open" in skipped.error
    assert len(pfm.calls) == 3  # type: ignore[attr-defined]
    assert sum(live_targets(sandbox).values()) == 4  # each batch once, at LATE


def test_nothing_reachable_sends_nothing_and_says_why_without_failing_it(sandbox: Sandbox) -> None:
    sandbox.postforme_server.set_down(True)
    sandbox.late_server.set_down(True)
    outcomes = send(chain_of(sandbox), "all down", (Platform.TWITTER,))
    outcome = outcomes[Platform.TWITTER]
    assert outcome.status == CLAIMED and outcome.error.startswith("not sent anywhere: ")
    assert "postforme:sandbox" in outcome.error and "late:sandbox" in outcome.error
    assert "ConnectError" in outcome.error
    assert sum(live_targets(sandbox).values()) == 0


def test_a_throttled_lookup_waits_as_told_within_its_budget_then_cannot_tell(sandbox: Sandbox) -> None:
    """Each Retry-After is waited, but never past the lookup budget: then the delivery is unknown."""
    rules = (once("status", status=503), once("throttle", ops=("list",), burst=50, retry_after=0.3))
    sandbox.postforme.faults.set_plan(FaultPlan(seed=1, rules=rules))
    waits: list[float] = []
    policy = dataclasses.replace(FAST, lookup_budget=0.7)
    chain = chain_of(sandbox, ("postforme", "late"), retry=policy, sleep=waits.append)

    outcomes = send(chain, "budget", (Platform.TWITTER,))

    assert outcomes[Platform.TWITTER].status == UNKNOWN
    assert "429" in outcomes[Platform.TWITTER].error
    assert waits == [0.3, 0.3]  # a third wait would pass the budget
    pfm = chain.link("postforme:sandbox").provider
    assert pfm.posting() == [("create", "maybe_sent")] + [("lookup", "throttled")] * 3  # type: ignore[attr-defined]
    assert sum(live_targets(sandbox).values()) == 0  # nothing sent anywhere else
