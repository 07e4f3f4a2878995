"""Two worker processes with one provider key stay within the key's limits together (issue 18,
finding 10): real OS processes, the real PostForMe client, one PostForMe simulator enforcing the
documented limits time-scaled, over loopback. The 429s are counted by the simulator itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from postdeck.sandbox.sandbox import SANDBOX_POSTFORME_KEY, start_sandbox

pytestmark = pytest.mark.slow  # real OS processes: left out of `make test-fast`

REPO = Path(__file__).resolve().parents[2]
SCALE = 20.0  # PostForMe's 5 a second and 40 a minute become 5 per 0.05 s and 40 per 3 s
CALLS = 30  # per worker: each alone stays within 40 per window, the two together (60) do not


def run_workers(
    url: str, rate_dir: Path, *, shared: bool, workers: int = 2, stop_at_429: bool = False
) -> list[dict[str, Any]]:
    """Start `workers` processes on the one sandbox key, let them call at the same moment, and
    return what each says it did."""
    env = {**os.environ, "POSTDECK_SANDBOX_RATE_SCALE": str(SCALE), "POSTDECK_RATE_DIR": str(rate_dir)}
    env.pop("POSTDECK_RATE_PER_PROCESS", None)
    if not shared:
        env["POSTDECK_RATE_PER_PROCESS"] = "1"
    args = [sys.executable, "-m", "tests.rate_worker", url, str(CALLS)]
    if stop_at_429:
        args.append("--stop-at-429")
    processes = [
        subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready", process.stderr
        for process in processes:  # every client is built: go, all together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            results.append({**json.loads(out.strip().splitlines()[-1]), "stderr": err})
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def postforme_429s(url: str) -> dict[str, int]:
    return httpx.get(url + "/_sim/stats", timeout=10).json()["rate_limited"]


def test_two_processes_on_one_key_together_get_no_429(tmp_path: Path) -> None:
    rate_dir = tmp_path / "rates"
    with start_sandbox(persist=False, rate_scale=SCALE) as box:
        results = run_workers(box.postforme_url, rate_dir, shared=True)
        throttled = postforme_429s(box.postforme_url)
    assert throttled == {}  # not one 429, per second or per minute
    assert [(r["ok"], r["throttled"], r["shared"]) for r in results] == [(CALLS, 0, True)] * 2
    # The budget is in files named by digests; the key itself is in none of them.
    files = list(rate_dir.iterdir())
    assert files and not any(SANDBOX_POSTFORME_KEY.encode() in path.read_bytes() for path in files)


def test_without_the_shared_budget_the_same_two_processes_collect_429s(tmp_path: Path) -> None:
    """The control: each process pacing itself alone, the two exceed the key's limits together.
    (Each stops at its first 429: waiting out PostForMe's whole-second Retry-After for every one of
    them, about 11 each, would take the test from 2 s to 12.)"""
    with start_sandbox(persist=False, rate_scale=SCALE) as box:
        results = run_workers(box.postforme_url, tmp_path / "rates", shared=False, stop_at_429=True)
        throttled = postforme_429s(box.postforme_url)
    assert sum(throttled.values()) > 0
    assert sum(throttled.values()) == sum(result["throttled"] for result in results)
    assert not any(result["shared"] for result in results)
