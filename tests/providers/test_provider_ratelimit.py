"""The client-side rate limiter and the providers' rate-limit headers (unit, then over loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from postdeck.chain_factory import (
    SANDBOX_RATE_SCALE_ENV,
    SANDBOX_URL_ENV,
    chain_links,
    run_links,
    sandbox_links,
    sandbox_rate_scale,
)
from postdeck.core.platform import Platform
from postdeck.errors import PostdeckError
from postdeck.providers.errors import ProviderThrottled
from postdeck.providers.late import LateClient
from postdeck.providers.postforme import PostForMeClient
from postdeck.providers.ratelimit import (
    LATE_WINDOWS,
    POSTFORME_WINDOWS,
    RateLimiter,
    Window,
    late_rate_headers,
    limiter_for,
    postforme_rate_headers,
    retry_after_seconds,
)
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.late_app import SANDBOX_LATE_KEY, LateSim
from postdeck.sandbox.late_app import create_app as late_app
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim, RateLimit, create_app
from postdeck.sandbox.sandbox import SANDBOX_POSTFORME_KEY
from postdeck.sandbox.server import SandboxServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(*windows: Window, clock: FakeClock) -> RateLimiter:
    return RateLimiter(windows, clock=clock, sleep=clock.sleep, margin=0.0)


def test_no_window_ever_holds_more_than_its_limit() -> None:
    clock = FakeClock()
    limit = limiter(Window(5, 1.0), Window(40, 60.0), clock=clock)
    sent = []
    for _ in range(100):
        limit.acquire()
        sent.append(clock.now)
        clock.now += 0.01  # a caller as fast as it can be
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 1.0) <= 5
        assert sum(1 for t in sent[i:] if t < start + 60.0) <= 40
    # 100 requests at 40 a minute: the last one waits for the third minute.
    assert 120.0 <= sent[-1] < 130.0


def test_a_pause_said_by_the_provider_holds_every_caller() -> None:
    clock = FakeClock()
    limit = limiter(clock=clock)
    limit.pause(3.0)
    assert limit.acquire() == pytest.approx(3.0)
    limit.pause(500.0)  # capped: a provider's wild Retry-After does not stall a run for ever
    assert limit.acquire() == pytest.approx(120.0)


def test_an_announced_limit_replaces_the_assumed_one() -> None:
    clock = FakeClock()
    limit = limiter(Window(2, 60.0), clock=clock)
    limit.set_limit(60.0, 600)
    for _ in range(50):
        limit.acquire()
    assert clock.slept == [] and limit.windows == (Window(600, 60.0),)


def test_one_limiter_per_provider_key() -> None:
    a = limiter_for("late@https://zernio.com/api", "key-a", (Window(60, 60.0),))
    assert limiter_for("late@https://zernio.com/api", "key-a", ()) is a
    assert limiter_for("late@https://zernio.com/api", "key-b", ()) is not a
    assert limiter_for("postforme@https://api.postforme.dev", "key-a", ()) is not a


def test_header_schemes_of_both_providers() -> None:
    pfm = postforme_rate_headers(
        {
            "retry-after": "7",
            "x-rate-limit-limit": "40",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": "7",  # seconds remaining, not an epoch
            "x-rate-limit-duration": "60",
        }
    )
    assert (pfm.limit, pfm.remaining, pfm.reset_in, pfm.retry_after, pfm.window) == (40, 0, 7.0, 7.0, 60.0)
    late = late_rate_headers(
        {"x-ratelimit-limit": "600", "x-ratelimit-remaining": "12", "x-ratelimit-reset": "1000045"},
        now_epoch=1_000_000.0,
    )
    assert (late.limit, late.remaining, late.reset_in, late.retry_after) == (600, 12, 45.0, None)
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after_seconds({"retry-after": soon.strftime("%a, %d %b %Y %H:%M:%S GMT")}) <= 31
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None


# --- over loopback ------------------------------------------------------------------------------


@pytest.fixture
def pfm() -> Iterator[tuple[PostForMeSim, SandboxServer]]:
    sim = PostForMeSim(rate_limits=(RateLimit(4, 1.0, "per_second_use"),))
    with SandboxServer(create_app(sim)) as server:
        yield sim, server


def test_a_burst_of_calls_stays_under_the_limit_instead_of_collecting_429s(pfm) -> None:
    _, server = pfm
    client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url, rate_limits=(Window(4, 1.0),))
    started = time.monotonic()
    for _ in range(10):
        assert client.accounts(platform=Platform.BLUESKY)  # would be refused from the 5th call on
    assert 1.9 < time.monotonic() - started < 4.0  # 10 calls at 4 a second
    client.close()


def test_a_429_pauses_the_key_for_as_long_as_postforme_says(pfm) -> None:
    sim, server = pfm
    sim.rate_limits = ()
    sim.faults.set_plan(FaultPlan(rules=(FaultRule(kind="throttle", retry_after=0.6, count=1),)))
    client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url, rate_limits=())
    with pytest.raises(Exception) as throttled:
        client.accounts()
    assert type(throttled.value).__name__ == "ProviderThrottled" and throttled.value.retry_after == 0.6
    started = time.monotonic()
    client.accounts()  # the client waits out the pause itself
    assert time.monotonic() - started >= 0.5


def test_late_limit_is_learned_from_every_reply_and_remaining_zero_waits_for_the_reset() -> None:
    sim = LateSim(rate_limit=3)
    with SandboxServer(late_app(sim)) as server:
        client = LateClient(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api")
        assert client.limiter is not None and client.limiter.windows == (Window(60, 60.0),)
        client.accounts()
        assert client.limiter.windows == (Window(3, 60.0),)  # X-RateLimit-Limit said 3
        client.accounts()
        client.accounts()  # Remaining: 0 → the limiter holds the next call until the reset epoch
        assert 55 < client.limiter.delay() <= 62
        client.close()


# --- sandbox clients and POSTDECK_SANDBOX_RATE_SCALE ------------------------------------------------
# Limiters are shared per (provider, URL, key) for the whole process: each test aims at URLs of its own.


def windows_of(links) -> dict[str, tuple[Window, ...]]:
    return {link.label: link.provider.limiter.windows for link in links}


def test_sandbox_clients_assume_no_limits_unless_the_setting_says(request) -> None:
    base = f"http://127.0.0.1:9/{request.node.name}"
    keys = {"postforme_key": SANDBOX_POSTFORME_KEY, "late_key": SANDBOX_LATE_KEY}
    plain = sandbox_links(base + "/pfm-plain", base + "/late-plain/api", **keys, environ={})
    assert windows_of(plain) == {"postforme:sandbox": (), "late:sandbox": ()}
    blank = sandbox_links(
        base + "/pfm-blank", base + "/late-blank/api", **keys, environ={SANDBOX_RATE_SCALE_ENV: " "}
    )
    assert windows_of(blank) == {"postforme:sandbox": (), "late:sandbox": ()}

    scaled = sandbox_links(
        base + "/pfm-10", base + "/late-10/api", **keys, environ={SANDBOX_RATE_SCALE_ENV: "10"}
    )
    assert windows_of(scaled) == {
        "postforme:sandbox": (Window(5, 0.1), Window(40, 6.0)),
        "late:sandbox": (Window(60, 6.0),),
    }
    real = sandbox_links(base + "/pfm-1", base + "/late-1/api", **keys, environ={SANDBOX_RATE_SCALE_ENV: "1"})
    assert windows_of(real) == {"postforme:sandbox": POSTFORME_WINDOWS, "late:sandbox": LATE_WINDOWS}


def test_a_run_against_running_simulators_reads_the_setting(request) -> None:
    base = f"http://127.0.0.1:9/{request.node.name}"
    environ = {
        SANDBOX_URL_ENV[0]: base + "/pfm",
        SANDBOX_URL_ENV[1]: base + "/late/api",
        SANDBOX_RATE_SCALE_ENV: "2.5",
    }
    with run_links(None, None, sandbox=True, environ=environ) as links:
        assert windows_of(links) == {
            "postforme:sandbox": (Window(5, 0.4), Window(40, 24.0)),
            "late:sandbox": (Window(60, 24.0),),
        }


@pytest.mark.parametrize("bad", ["0", "-10", "ten", "nan", "inf", "1e999", "10x"])
def test_a_bad_rate_scale_is_refused_with_the_setting_named(bad: str, request) -> None:
    with pytest.raises(PostdeckError, match=rf"^{SANDBOX_RATE_SCALE_ENV}='{bad}': expected a number above 0"):
        sandbox_rate_scale({SANDBOX_RATE_SCALE_ENV: bad})
    with pytest.raises(PostdeckError, match=SANDBOX_RATE_SCALE_ENV):
        sandbox_links(
            f"http://127.0.0.1:9/{request.node.name}/pfm",
            f"http://127.0.0.1:9/{request.node.name}/late/api",
            postforme_key=SANDBOX_POSTFORME_KEY,
            late_key=SANDBOX_LATE_KEY,
            environ={SANDBOX_RATE_SCALE_ENV: bad},
        )
    assert sandbox_rate_scale({}) is None and sandbox_rate_scale({SANDBOX_RATE_SCALE_ENV: " 0.5 "}) == 0.5


def test_the_scale_never_reaches_a_client_built_without_it(request) -> None:
    url = f"http://127.0.0.1:9/{request.node.name}"
    scaled = sandbox_links(
        url,
        url + "/api",
        postforme_key=SANDBOX_POSTFORME_KEY,
        late_key=SANDBOX_LATE_KEY,
        environ={SANDBOX_RATE_SCALE_ENV: "10"},
    )
    # The same key at the same URL (POSTFORME_BASE_URL pointed at `postdeck sandbox`): its own limiter.
    same = PostForMeClient(api_key=SANDBOX_POSTFORME_KEY, base_url=url, rate_limits=())
    assert same.limiter is not scaled[0].provider.limiter and same.limiter.windows == ()
    # Real keys (the setting in the environment too): the documented windows, as they are.
    key = f"{request.node.name}-key"
    real = chain_links(
        None,
        store=None,
        environ={"POSTFORME_API_KEY": key, "LATE_API_KEY": key, SANDBOX_RATE_SCALE_ENV: "10"},
    )
    assert windows_of(real) == {"postforme:global": POSTFORME_WINDOWS, "late:global": LATE_WINDOWS}
    assert all(link.provider.limiter.time_scale == 1.0 for link in real)
    for link in (*scaled, *real):
        link.provider.close()
    same.close()


def test_an_announced_window_is_time_scaled_like_the_assumed_ones() -> None:
    clock = FakeClock()
    limit = RateLimiter(LATE_WINDOWS, clock=clock, sleep=clock.sleep, margin=0.0, time_scale=10)
    limit.set_limit(60.0, 3)  # LATE's X-RateLimit-Limit: 3 a minute, which is 3 per 6 s here
    assert limit.windows == (Window(3, 6.0),)
    for _ in range(4):
        limit.acquire()
    assert clock.now == pytest.approx(6.0)
    limit.pause(2.0)  # a Retry-After is the simulator's own (already scaled) seconds
    assert limit.acquire() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="time_scale"):
        RateLimiter(time_scale=0)


def test_a_scaled_sandbox_client_learns_late_s_limit_in_scaled_time() -> None:
    sim = LateSim(rate_limit=3)
    with SandboxServer(late_app(sim)) as server:
        links = sandbox_links(
            server.url + "/pfm-unused",
            server.url + "/api",
            postforme_key=SANDBOX_POSTFORME_KEY,
            late_key=SANDBOX_LATE_KEY,
            environ={SANDBOX_RATE_SCALE_ENV: "10"},
        )
        late = links[1].provider
        late.accounts()
        assert late.limiter.windows == (Window(3, 6.0),)  # not a 60-second window beside the 6-second one
        for link in links:
            link.provider.close()


def test_scaled_sandbox_clients_pace_themselves_under_a_scaled_simulator() -> None:
    scale = 4.0  # PostForMe's 5 a second becomes 5 per 0.25 s at the simulator and in the client
    sim = PostForMeSim(rate_limits=(RateLimit(5, 1.0 / scale, "per_second_use"),))
    with SandboxServer(create_app(sim)) as server:
        keys = {"postforme_key": DEFAULT_API_KEY, "late_key": SANDBOX_LATE_KEY}
        paced = sandbox_links(server.url, server.url + "/api", **keys, environ={SANDBOX_RATE_SCALE_ENV: "4"})
        for _ in range(12):
            paced[0].provider.accounts(platform=Platform.BLUESKY)  # a 429 would raise ProviderThrottled
        unpaced = sandbox_links(server.url, server.url + "/api", **keys, environ={})
        with pytest.raises(ProviderThrottled):
            for _ in range(12):
                unpaced[0].provider.accounts(platform=Platform.BLUESKY)
        for link in (*paced, *unpaced):
            link.provider.close()
