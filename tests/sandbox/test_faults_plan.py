"""Fault switches of the simulators: plans, their determinism, the admin endpoints, `--faults FILE`,
and each kind acted out on the wire (raw HTTP here; what postdeck does about each: test_failover_faults)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from postdeck.sandbox.faults import FaultInjector, FaultPlan, FaultRule, load_plans
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim, create_app
from postdeck.sandbox.server import SandboxServer, free_port

PLANS = Path(__file__).parents[1] / "fault_plans"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def test_plans_are_strict() -> None:
    with pytest.raises(ValidationError, match="unknown operations"):
        FaultRule(kind="status", ops=("creat",))
    with pytest.raises(ValidationError):
        FaultRule(kind="status", statuss=500)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FaultRule(kind="latency", min_s=2, max_s=1)
    with pytest.raises(ValidationError):
        FaultRule(kind="explode")  # type: ignore[arg-type]


def test_fault_files_name_a_plan_per_provider_or_one_for_both(tmp_path: Path) -> None:
    plans = load_plans(PLANS / "chaos.yaml")
    assert set(plans) == {"postforme", "late"} and plans["postforme"].seed == 11
    kinds = {rule.kind for plan in plans.values() for rule in plan.rules}
    assert kinds == {"latency", "status", "throttle", "timeout", "reset", "partial", "disconnect", "down"}
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"seed": 3, "rules": [{"kind": "reset", "rate": 0.5}]}))
    both = load_plans(single)
    assert both["postforme"] == both["late"] and both["late"].rules[0].kind == "reset"


def decisions(plan: FaultPlan, ops: list[str]) -> list[tuple[str | None, float]]:
    injector = FaultInjector(plan)
    out = []
    for op in ops:
        decision = injector.on_request(op)
        out.append((decision.rule.kind if decision.rule else None, round(decision.latency, 6)))
    return out


def test_a_seed_replays_the_same_faults() -> None:
    rules = (
        FaultRule(kind="latency", min_s=0.0, max_s=0.1, rate=0.5),
        FaultRule(kind="status", rate=0.2, ops=("create",)),
        FaultRule(kind="reset", rate=0.2),
    )
    ops = ["create", "get", "list", "create"] * 50
    first = decisions(FaultPlan(seed=5, rules=rules), ops)
    assert first == decisions(FaultPlan(seed=5, rules=rules), ops)
    assert first != decisions(FaultPlan(seed=6, rules=rules), ops)
    assert {kind for kind, _ in first} == {None, "status", "reset"}
    assert all(kind != "status" for (kind, _), op in zip(first, ops, strict=True) if op != "create")


def test_count_after_requests_and_bursts() -> None:
    once_later = FaultPlan(rules=(FaultRule(kind="status", count=1, after_requests=2),))
    assert [k for k, _ in decisions(once_later, ["get"] * 5)] == [None, None, "status", None, None]
    burst = FaultPlan(rules=(FaultRule(kind="throttle", count=1, burst=3),))
    assert [k for k, _ in decisions(burst, ["get"] * 5)] == ["throttle"] * 3 + [None, None]


def test_partial_failures_draw_per_platform() -> None:
    injector = FaultInjector(
        FaultPlan(rules=(FaultRule(kind="partial", platforms=("tiktok",), reason="account", count=1),))
    )
    assert injector.platform_failure("twitter") is None
    assert injector.platform_failure("tiktok") == "account"
    assert injector.platform_failure("tiktok") is None  # count 1
    assert injector.fired == {"partial": 1}


# --- on the wire -----------------------------------------------------------------------------------


@pytest.fixture
def sim() -> PostForMeSim:
    return PostForMeSim()


@pytest.fixture
def server(sim: PostForMeSim) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(sim)) as running:
        sim.upload_base = running.url
        yield running


def create(server: SandboxServer, sim: PostForMeSim, key: str, **kw) -> httpx.Response:
    body = {"caption": "hi", "social_accounts": [sim.account_for("x")["id"]], "external_id": key}
    return httpx.post(f"{server.url}/v1/social-posts", json=body, headers=AUTH, **kw)


def stored(sim: PostForMeSim, key: str) -> int:
    return sum(1 for p in sim.posts.values() if p["external_id"] == key)


def test_admin_endpoint_sets_shows_and_clears_a_plan(sim: PostForMeSim, server: SandboxServer) -> None:
    plan = {"seed": 1, "rules": [{"kind": "status", "status": 502, "ops": ["create"], "count": 1}]}
    assert httpx.post(f"{server.url}/_sim/faults", json=plan).json()["plan"]["rules"][0]["status"] == 502
    assert create(server, sim, "pd_a").status_code == 502 and stored(sim, "pd_a") == 0
    assert create(server, sim, "pd_b").status_code == 201
    shown = httpx.get(f"{server.url}/_sim/faults").json()
    assert shown["fired"] == {"status": 1} and shown["requests"] == 2
    refused = httpx.post(f"{server.url}/_sim/faults", json={"rules": [{"kind": "nope"}]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid fault plan"
    httpx.post(f"{server.url}/_sim/reset")
    assert httpx.get(f"{server.url}/_sim/faults").json()["plan"]["rules"] == []


def test_each_request_level_kind_on_the_wire(sim: PostForMeSim, server: SandboxServer) -> None:
    def plan(**rule) -> None:
        sim.faults.set_plan(FaultPlan(rules=(FaultRule(ops=("create",), count=1, **rule),)))

    plan(kind="latency", min_s=0.3, max_s=0.3)
    started = time.monotonic()
    assert create(server, sim, "pd_slow").status_code == 201 and time.monotonic() - started >= 0.3

    plan(kind="status", status=500, after_store=True)
    assert create(server, sim, "pd_500").status_code == 500 and stored(sim, "pd_500") == 1

    plan(kind="throttle", retry_after=0.5)
    throttled = create(server, sim, "pd_429")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "0.5"
    assert stored(sim, "pd_429") == 0

    plan(kind="timeout", hang_s=5)
    with pytest.raises(httpx.ReadTimeout):
        create(server, sim, "pd_hang", timeout=0.3)
    assert stored(sim, "pd_hang") == 1  # the post exists; only the answer was lost

    plan(kind="reset")
    with pytest.raises(httpx.ReadError, match="reset"):  # a real TCP reset
        create(server, sim, "pd_rst")
    assert stored(sim, "pd_rst") == 0

    plan(kind="reset", after_store=True)
    with pytest.raises(httpx.ReadError):
        create(server, sim, "pd_rst2")
    assert stored(sim, "pd_rst2") == 1


def test_partial_and_disconnect_act_on_the_posts(sim: PostForMeSim, server: SandboxServer) -> None:
    sim.faults.set_plan(
        FaultPlan(
            rules=(
                FaultRule(kind="partial", platforms=("x",), reason="content", count=1),
                FaultRule(kind="disconnect", platforms=("bluesky",), after_requests=1, count=1),
            )
        )
    )
    assert create(server, sim, "pd_p").status_code == 201
    sim.tick()
    [result] = [r for rows in sim.results.values() for r in rows]
    assert result["success"] is False and "refused" in result["error"]
    accounts = httpx.get(f"{server.url}/v1/social-accounts", params={"platform": "bluesky"}, headers=AUTH)
    assert accounts.json()["data"][0]["status"] == "disconnected"  # fired on this second request


def test_a_provider_goes_down_and_comes_back(sim: PostForMeSim, server: SandboxServer) -> None:
    sim.faults.set_plan(FaultPlan(rules=(FaultRule(kind="down", for_s=0.5, ops=("create",), count=1),)))
    with httpx.Client(headers=AUTH) as http:
        body = {"caption": "hi", "social_accounts": [sim.account_for("x")["id"]]}
        assert http.post(f"{server.url}/v1/social-posts", json=body).status_code == 201  # answered, then down
        with pytest.raises(httpx.ConnectError):  # refused, even on the pooled client
            http.get(f"{server.url}/v1/social-accounts")
        time.sleep(0.7)
        assert http.get(f"{server.url}/v1/social-accounts").status_code == 200
    assert httpx.post(f"{server.url}/_sim/down", json={"for_s": 0.5}).json() == {"down_for": 0.5}
    time.sleep(0.1)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/v1/social-accounts", headers=AUTH)
    server.set_down(False)  # or bring it back by hand
    assert httpx.get(f"{server.url}/v1/social-accounts", headers=AUTH).status_code == 200


@pytest.mark.slow
def test_postdeck_sandbox_starts_with_a_faults_file(tmp_path: Path) -> None:
    pfm_port, late_port = free_port(), free_port()
    command = [sys.executable, "-m", "postdeck.cli", "sandbox", "--postforme-port", str(pfm_port)]
    command += ["--late-port", str(late_port), "--tick", "0", "--faults", str(PLANS / "chaos.yaml")]
    env = {"POSTDECK_SANDBOX_DIR": str(tmp_path / "box"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                shown = httpx.get(f"http://127.0.0.1:{late_port}/_sim/faults").json()
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert shown["plan"]["seed"] == 12 and len(shown["plan"]["rules"]) == 11
        pfm = httpx.get(f"http://127.0.0.1:{pfm_port}/_sim/faults").json()
        assert pfm["plan"]["seed"] == 11
    finally:
        process.terminate()
        process.wait(timeout=10)

    bad = tmp_path / "bad.yaml"
    bad.write_text("postforme:\n  rules:\n    - {kind: meltdown}\n")
    failed = subprocess.run([*command[:-1], str(bad)], env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "not a fault plan" in failed.stderr
