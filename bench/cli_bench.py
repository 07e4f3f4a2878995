"""What a user runs, timed from a fresh shell, side by side in one run (the machine is shared and noisy).

1. `postdeck publish` of N batches × 4 platforms (1,000 deliveries by default, 500 ms per provider call)
   cold: no local Prefect server yet, a new ledger; then warm: the server the cold run started, a new
   ledger, the simulators reset. Each beside the floor, ceil(N / concurrency) × latency.
2. The second `make demo`: `postdeck publish campaigns/example.yaml --sandbox` run twice on one state
   folder (the embedded simulators, as the demo uses them); the second sends nothing.
3. `postdeck validate` on 100 files × 50 batches (bench/validate_bench.py's campaigns): wall and CPU.

Every command is a new process with its own environment; the local server is stopped at the end.

    .venv/bin/python bench/cli_bench.py [--batches 250] [--latency 0.5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

from benchlib import REPO, Measured, header, measure, postdeck_cli, simulators, write_campaign
from validate_bench import generate


def line(name: str, done: Measured, floor: float | None = None, server_cpu: float | None = None) -> None:
    ratio = f"  {done.wall / floor:5.2f} × floor" if floor else ""
    status = "" if done.code == 0 else f"  (exit {done.code})"
    server = f"  server cpu {server_cpu:6.2f} s" if server_cpu is not None else ""
    print(
        f"{name:<40} wall {done.wall:6.2f} s  cpu {done.cpu:6.2f} s{server}  peak {done.peak:4d} MiB"
        f"{ratio}{status}"
    )


def server_cpu(server: Path) -> float:
    """CPU seconds so far of the local Prefect server under `server` and its children (0 when none runs):
    it runs in a session of its own, so the command's own CPU figure leaves it out."""
    import psutil

    try:
        process = psutil.Process(json.loads((server / "server.json").read_text())["pid"])
        parts = [process, *process.children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in parts)
    except (FileNotFoundError, psutil.Error):
        return 0.0


def user_env(state: Path, **extra: str) -> dict[str, str]:
    """A fresh shell's environment: no Prefect profile of the caller's, postdeck's state under `state`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "POSTDECK_", "SUPABASE_"))}
    env.pop("POSTFORME_API_KEY", None)
    env.pop("LATE_API_KEY", None)
    env.update(
        POSTDECK_SERVER_DIR=str(state / "server"),
        POSTDECK_LEDGER=str(state / "ledger.db"),
        POSTDECK_JOURNAL=str(state / "journal.jsonl"),
        POSTDECK_SANDBOX_DIR=str(state / "sandbox"),
        **extra,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    floor = math.ceil(args.batches / args.concurrency) * args.latency
    header(
        "the commands users run, each a fresh process",
        work=f"publish {args.batches} batches × 4 platforms; the example campaign; validate 100 × 50",
        setting=f"{args.latency * 1000:.0f} ms per provider call, {args.concurrency} in flight per provider; "
        f"floor {floor:.1f} s",
    )
    cli = postdeck_cli()
    with simulators("--latency", str(args.latency)) as sims, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        campaign = write_campaign(root / "campaign", args.batches)
        server = root / "shared"  # one local server for the publish runs: the cold run starts it
        concurrency = {"POSTDECK_PROVIDER_CONCURRENCY": str(args.concurrency), **sims.env()}

        def run(name: str, command: list[str], env: dict[str, str], floor: float | None = None) -> None:
            env["POSTDECK_SERVER_DIR"] = str(server)
            before = server_cpu(server)
            done = measure(command, env=env, cwd=REPO)
            line(name, done, floor, server_cpu(server) - before)

        publish = [*cli, "publish", str(campaign), "--sandbox"]
        try:
            run(
                "publish, cold (no server yet, new ledger)",
                publish,
                user_env(root / "cold", **concurrency),
                floor,
            )
            sims.reset()
            run("publish, server running, new ledger", publish, user_env(root / "warm", **concurrency), floor)
            example = [*cli, "publish", "campaigns/example.yaml", "--sandbox"]
            run("first make demo (server running)", example, user_env(root / "demo"))
            run("second make demo (nothing to send)", example, user_env(root / "demo"))
        finally:
            subprocess.run(
                [*cli, "server", "stop"], env={**os.environ, "POSTDECK_SERVER_DIR": str(server)}, check=False
            )
        folder = root / "validate"
        generate(folder, 100, 50)
        checks = user_env(root / "validate-state")
        for _ in range(3):
            line(
                "validate 100 files × 50 batches",
                measure([*cli, "validate", "--quiet", str(folder)], env=checks),
            )


if __name__ == "__main__":
    main()
