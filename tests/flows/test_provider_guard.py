"""The in-process caps of flows.limits: at most N provider calls in flight per provider, whatever the
number of threads, counted with a fake provider call; and the setting that sizes them."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from postdeck.errors import PostdeckError

if TYPE_CHECKING:
    from postdeck.flows.limits import ProviderCaps

# postdeck.flows.limits is imported in the tests, not here: it imports Prefect, and each xdist worker of
# `make test-fast` collects every module (Prefect is ~1 s of a worker's start; most never run these).


class InFlight:
    """Counts how many callers are inside `busy(name)` at once, per name (a fake provider call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def busy(self, name: str) -> None:
        with self._lock:
            self.now[name] += 1
            self.peak[name] = max(self.peak[name], self.now[name])
        time.sleep(0.02)  # long enough for every thread to pile up at the guard
        with self._lock:
            self.now[name] -= 1

    def call(self, caps: ProviderCaps, provider: str) -> None:
        with caps.call(provider):
            self.busy(provider)


def hammer(caps: ProviderCaps, providers: list[str], threads: int, calls: int) -> InFlight:
    counter = InFlight()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda i: counter.call(caps, providers[i % len(providers)]), range(calls)))
    return counter


@pytest.mark.parametrize("cap", [1, 3, 5])
def test_the_guard_caps_calls_in_flight_per_provider_at_the_setting(cap: int) -> None:
    from postdeck.flows.limits import ProviderCaps

    caps = ProviderCaps(cap)
    counter = hammer(caps, ["postforme", "late"], threads=24, calls=120)
    assert counter.peak == {"postforme": cap, "late": cap}  # reached, never passed, each on its own


def test_a_chain_built_with_the_guard_is_capped() -> None:
    """The chain runs its every provider call inside `guard(provider name)`: here `caps.call`."""
    from postdeck.flows.limits import ProviderCaps
    from postdeck.providers.chain import Chain, Link

    counter = InFlight()

    class FakeProvider:
        name = "postforme"

        def get(self, post_id: str) -> str:
            counter.busy(self.name)
            return post_id

    chain = Chain([Link("postforme:fake", FakeProvider())], guard=ProviderCaps(2).call)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda i: chain.get("postforme:fake", str(i)), range(48)))
    assert got == [str(i) for i in range(48)]
    assert counter.peak == {"postforme": 2}


def test_the_window_is_the_smaller_of_the_setting_and_the_server_limits() -> None:
    from postdeck.flows.limits import ProviderCaps

    assert ProviderCaps(16).window == 16
    assert ProviderCaps(16, {"provider:postforme": 4, "provider:late": 8}).window == 4
    assert ProviderCaps(2, {"provider:postforme": 4}).window == 2
    assert ProviderCaps(16, {"provider:postforme": 0}).window == 1  # a paused limit waits on the server


def test_tasks_share_the_run_reservation_and_need_one() -> None:
    from postdeck.flows.limits import ProviderCaps

    caps = ProviderCaps(3)  # no provider:* limit on the server: no Prefect call at all
    counter = InFlight()

    def task(_: int) -> None:
        with caps.batch():
            counter.busy("tasks")

    with pytest.raises(RuntimeError, match=r"outside caps\.reserve"), caps.batch():
        pass
    with caps.reserve(30) as size, ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(task, range(30)))
    assert size == 3 and counter.peak == {"tasks": 3}
    with caps.reserve(2) as size:  # a small run reserves no more than it can use
        assert size == 2


@pytest.mark.usefixtures("prefect_api")
def test_a_run_takes_its_slots_of_every_provider_limit_once_for_its_provider_phase() -> None:
    from prefect.client.orchestration import get_client

    from postdeck.flows.limits import ProviderCaps, ensure_limits

    ensure_limits({"provider:postforme": 3, "provider:late": 5})

    def active() -> dict[str, int]:
        with get_client(sync_client=True) as client:
            return {
                name: client.read_global_concurrency_limit_by_name(name).active_slots
                for name in ("provider:postforme", "provider:late")
            }

    try:
        caps = ProviderCaps.for_providers(["postforme", "late", "postforme"])
        assert caps.server == {"provider:late": 5, "provider:postforme": 3} and caps.window == 3
        with caps.reserve(10) as size:
            assert size == 3 and active() == {"provider:postforme": 3, "provider:late": 3}
            with caps.batch(), caps.call("postforme"), caps.batch():  # tasks and calls ask the server nothing
                assert active() == {"provider:postforme": 3, "provider:late": 3}
        assert active() == {"provider:postforme": 0, "provider:late": 0}
    finally:  # the server is the whole session's: later flows must not find these limits
        with get_client(sync_client=True) as client:
            for name in ("provider:postforme", "provider:late"):
                client.delete_global_concurrency_limit_by_name(name)


def test_the_setting_defaults_to_16_and_refuses_nonsense() -> None:
    from postdeck.flows.limits import CONCURRENCY_ENV, DEFAULT_CONCURRENCY, process_concurrency

    assert process_concurrency({}) == DEFAULT_CONCURRENCY == 16
    assert process_concurrency({CONCURRENCY_ENV: " 4 "}) == 4
    for bad in ("0", "-2", "four", "2.5"):
        with pytest.raises(PostdeckError, match=CONCURRENCY_ENV):
            process_concurrency({CONCURRENCY_ENV: bad})
