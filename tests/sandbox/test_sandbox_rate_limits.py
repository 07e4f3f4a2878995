"""The sandbox enforcing the vendors' documented rate limits, time-scaled (`start_sandbox(rate_scale=)`,
`postdeck sandbox --rate-limits --rate-scale N`), and LATE's window length (`LateSim(rate_window=)`)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from typer.testing import CliRunner

from postdeck.chain_factory import SANDBOX_RATE_SCALE_ENV, sandbox_links
from postdeck.cli import app
from postdeck.errors import PostdeckError
from postdeck.providers.ratelimit import Window, late_rate_headers
from postdeck.sandbox import late_state, postforme_state
from postdeck.sandbox import sandbox as sandbox_module
from postdeck.sandbox.late_state import LateSim
from postdeck.sandbox.postforme_wire import RateLimit
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox, start_sandbox
from postdeck.sandbox.server import free_port

runner = CliRunner()
PFM_AUTH = {"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
LATE_AUTH = {"Authorization": f"Bearer {SANDBOX_LATE_KEY}"}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def statuses(http: httpx.Client, url: str, headers: dict[str, str], count: int) -> list[httpx.Response]:
    return [http.get(url, headers=headers) for _ in range(count)]


# --- LateSim's window ------------------------------------------------------------------------------


def fixed_time(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    monkeypatch.setattr(late_state, "time", SimpleNamespace(time=lambda: now, monotonic=time.monotonic))


def test_late_s_default_window_is_still_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = LateSim()
    assert (sim.rate_limit, sim.rate_window) == (600, 60.0)
    fixed_time(monkeypatch, 1000.25)
    assert sim._count_request("Bearer k") == (600, 599, 1061, True)  # reset: the first hit + 60 s, + 1
    fixed_time(monkeypatch, 1059.0)
    assert sim._count_request("Bearer k") == (600, 598, 1061, True)
    fixed_time(monkeypatch, 1060.25)  # the first hit has left the window
    assert sim._count_request("Bearer k") == (600, 598, 1120, True)
    _, headers = sim.fault_reply(500)
    assert headers["X-RateLimit-Limit"] == "600" and headers["X-RateLimit-Reset"] == "1120"


def test_late_s_window_length_is_a_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = LateSim(rate_limit=2, rate_window=6.0)
    fixed_time(monkeypatch, 1000.25)
    assert sim._count_request("Bearer k") == (2, 1, 1007, True)
    assert sim._count_request("Bearer k") == (2, 0, 1007, True)
    assert sim._count_request("Bearer k") == (2, 0, 1007, False)
    assert sim._count_request("Bearer other") == (2, 1, 1007, True)  # per key
    fixed_time(monkeypatch, 1006.25)  # 6 s on: both hits have left the window
    assert sim._count_request("Bearer k") == (2, 1, 1013, True)
    _, headers = sim.fault_reply(500)
    assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Reset"] == "1012"
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="rate_window"):
            LateSim(rate_window=bad)


# --- start_sandbox ---------------------------------------------------------------------------------


def test_without_a_rate_scale_the_sandbox_is_as_before(http: httpx.Client) -> None:
    with start_sandbox(persist=False) as box:
        assert box.postforme.rate_limits == ()
        assert (box.late.rate_limit, box.late.rate_window) == (600, 60.0)
        pfm = statuses(http, box.postforme_url + "/v1/social-accounts", PFM_AUTH, 12)
        assert [r.status_code for r in pfm] == [200] * 12  # 5 a second would have been 429 here
        late = statuses(http, box.late_url + "/v1/accounts", LATE_AUTH, 3)
        assert [r.status_code for r in late] == [200] * 3
        assert late[-1].headers["x-ratelimit-limit"] == "600"
        assert late[-1].headers["x-ratelimit-remaining"] == "597"
        assert 58 <= int(late[-1].headers["x-ratelimit-reset"]) - time.time() <= 62


def test_postforme_answers_429_past_5_requests_in_its_scaled_second(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]  # the simulator's monotonic clock, stopped: the burst fits the window however slow
    monkeypatch.setattr(postforme_state, "time", SimpleNamespace(monotonic=lambda: clock[0], time=time.time))
    with start_sandbox(persist=False, rate_scale=2) as box:  # 5 per 0.5 s, 40 per 30 s
        assert box.postforme.rate_limits == (
            RateLimit(5, 0.5, "per_second_use"),
            RateLimit(40, 30.0, "per_minute_use"),
        )
        url = box.postforme_url + "/v1/social-accounts"
        replies = statuses(http, url, PFM_AUTH, 6)
        assert [r.status_code for r in replies] == [200] * 5 + [429]
        throttled = replies[-1].headers
        assert throttled["retry-after"] == "1"  # whole seconds, at least 1
        assert throttled["x-rate-limit-limit"] == "5" and throttled["x-rate-limit-remaining"] == "0"
        assert throttled["x-rate-limit-name"] == "per_second_use"
        stats = http.get(box.postforme_url + "/_sim/stats").json()
        assert stats["rate_limited"] == {"per_second_use": 1}  # the simulator's own count of its 429s
        clock[0] += 0.55  # past the scaled second (a real second would still be full)
        assert http.get(url, headers=PFM_AUTH).status_code == 200


def test_late_answers_429_past_60_requests_in_its_scaled_minute(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time()
    fixed_time(monkeypatch, started)  # the simulator's clock, stopped: the burst fits however slow
    with start_sandbox(persist=False, rate_scale=30) as box:  # 60 per 2 s
        assert (box.late.rate_limit, box.late.rate_window) == (60, 2.0)
        replies = statuses(http, box.late_url + "/v1/accounts", LATE_AUTH, 61)
        assert [r.status_code for r in replies] == [200] * 60 + [429]
        last_ok, throttled = replies[-2].headers, replies[-1].headers
        assert last_ok["x-ratelimit-limit"] == "60" and last_ok["x-ratelimit-remaining"] == "0"
        reset = int(throttled["x-ratelimit-reset"])
        assert started < reset <= started + 2 + 1  # epoch seconds: the first hit + the scaled window
        assert throttled["x-ratelimit-limit"] == "60" and throttled["x-ratelimit-remaining"] == "0"
        assert int(throttled["retry-after"]) >= 1
        # What the client reads: 60 a minute, a minute being 2 s for a client built with time scale 30.
        rate = late_rate_headers(throttled)
        assert (rate.limit, rate.remaining, rate.window) == (60, 0, 60.0)
        assert rate.reset_in <= 3  # against the real clock: the stopped one is behind it


def test_a_client_paired_by_postdeck_sandbox_rate_scale_reads_late_s_window_alike(box_30: Sandbox) -> None:
    links = sandbox_links(
        box_30.postforme_url,
        box_30.late_url,
        postforme_key=SANDBOX_POSTFORME_KEY,
        late_key=SANDBOX_LATE_KEY,
        environ={SANDBOX_RATE_SCALE_ENV: "30"},
    )
    try:
        late = links[1].provider
        late.accounts()
        assert late.limiter.windows == (Window(60, 2.0),)  # the simulator's own window
        assert links[0].provider.limiter.windows == (Window(5, 1 / 30), Window(40, 2.0))
    finally:
        for link in links:
            link.provider.close()


@pytest.fixture
def box_30() -> Iterator[Sandbox]:
    with start_sandbox(persist=False, rate_scale=30) as box:
        yield box


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
def test_start_sandbox_refuses_a_scale_not_above_0(bad: float) -> None:
    with pytest.raises(ValueError, match="rate_scale"):
        start_sandbox(persist=False, rate_scale=bad)


# --- postdeck sandbox --rate-limits --rate-scale N --------------------------------------------------


@pytest.mark.parametrize("bad", ["0", "-2", "inf", "nan"])
def test_a_rate_scale_not_above_0_is_a_clear_error(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "start_sandbox", lambda **_: pytest.fail("started"))
    result = runner.invoke(app, ["sandbox", "--rate-limits", "--rate-scale", bad])
    assert result.exit_code == 1 and isinstance(result.exception, PostdeckError)
    assert str(result.exception).startswith(f"--rate-scale {bad}: expected a number above 0")


def test_a_rate_scale_that_is_not_a_number_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "start_sandbox", lambda **_: pytest.fail("started"))
    result = runner.invoke(app, ["sandbox", "--rate-scale", "fast"])
    assert result.exit_code == 2 and "--rate-scale" in result.output


def run_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> tuple[str, list[Sandbox]]:
    """`postdeck sandbox ARGS` until its first wait (a Ctrl-C then): its output and the sandbox it ran."""
    started: list[Sandbox] = []

    def recording(**options: object) -> Sandbox:
        started.append(start_sandbox(**options))  # type: ignore[arg-type]
        return started[-1]

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("POSTDECK_SANDBOX_DIR", str(tmp_path))
    monkeypatch.setattr(sandbox_module, "start_sandbox", recording)
    monkeypatch.setattr("postdeck.commands.sandbox.time", SimpleNamespace(sleep=interrupt))
    ports = ["--postforme-port", str(free_port()), "--late-port", str(free_port())]
    result = runner.invoke(app, ["sandbox", *ports, *args], catch_exceptions=False)
    assert result.exit_code == 0
    return " ".join(result.output.split()), started


def test_postdeck_sandbox_rate_limits_says_what_it_enforces_and_the_clients_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, [box] = run_sandbox(monkeypatch, tmp_path, "--rate-limits", "--rate-scale", "10")
    assert box.postforme.rate_limits == (
        RateLimit(5, 0.1, "per_second_use"),
        RateLimit(40, 6.0, "per_minute_use"),
    )
    assert (box.late.rate_limit, box.late.rate_window) == (60, 6.0)
    assert "PostForMe 5 per 0.1 s, 40 per 6 s; LATE 60 per 6 s" in out
    assert (
        f"POSTDECK_SANDBOX_POSTFORME_URL={box.postforme_url} POSTDECK_SANDBOX_LATE_URL={box.late_url} "
        "POSTDECK_SANDBOX_RATE_SCALE=10 " in out
    )


def test_rate_limits_alone_are_the_real_ones_and_a_scale_alone_implies_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, [box] = run_sandbox(monkeypatch, tmp_path, "--rate-limits")
    assert box.postforme.rate_limits == (
        RateLimit(5, 1.0, "per_second_use"),
        RateLimit(40, 60.0, "per_minute_use"),
    )
    assert (box.late.rate_limit, box.late.rate_window) == (60, 60.0)
    assert "POSTDECK_SANDBOX_RATE_SCALE=1 " in out
    out, [box] = run_sandbox(monkeypatch, tmp_path, "--rate-scale", "2.5")
    assert (box.late.rate_limit, box.late.rate_window) == (60, 24.0)
    assert "POSTDECK_SANDBOX_RATE_SCALE=2.5 " in out


def test_postdeck_sandbox_without_rate_limits_prints_and_enforces_as_before(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, [box] = run_sandbox(monkeypatch, tmp_path)
    assert box.postforme.rate_limits == () and (box.late.rate_limit, box.late.rate_window) == (600, 60.0)
    assert "rate limits" not in out and "POSTDECK_SANDBOX_RATE_SCALE" not in out
    assert out.startswith(f"POSTFORME_BASE_URL={box.postforme_url}")


@pytest.mark.parametrize(
    ("environ", "expected"), [({}, [200] * 6), ({SANDBOX_RATE_SCALE_ENV: "1"}, [200] * 5 + [429])]
)
def test_embedded_sandbox_enforces_the_limits_its_clients_assume(
    environ: dict[str, str], expected: list[int], http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--sandbox` without running simulators embeds its own: they enforce what the clients are given."""
    from postdeck.chain_factory import run_links
    from postdeck.ledger.sqlite import SqliteLedger

    monkeypatch.setattr(postforme_state, "time", SimpleNamespace(monotonic=lambda: 1000.0, time=time.time))
    with run_links(None, SqliteLedger(), sandbox=True, environ=environ) as links:
        client = links[0].provider
        assert bool(client.limiter.windows) == bool(environ)
        url = client.base_url.rstrip("/") + "/v1/social-accounts"
        assert [r.status_code for r in statuses(http, url, PFM_AUTH, 6)] == expected
