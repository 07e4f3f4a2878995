"""What the benchmarks share: the machine line, the campaign they publish, the simulators' process,
a Prefect API, the request counts and answers the simulators keep, and the publish path without Prefect."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "campaigns" / "media" / "spring-roast.jpg"
PLATFORMS = ("twitter", "linkedin", "bluesky", "instagram")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{os.cpu_count()} cores, {cpu}; {platform.platform()}; Python {platform.python_version()}"


def header(title: str, **settings: Any) -> None:
    print(f"== {title}")
    print(f"date:     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine:  {machine()}")
    for name, value in settings.items():
        print(f"{name + ':':<9} {value}")


def write_campaign(
    folder: Path,
    batches: int,
    *,
    name: str = "bench",
    media: bool = True,
    every: str = "30m",
    own_image: bool = False,
) -> Path:
    """`batches` × 4 platforms on a cadence from tomorrow (so the platforms' per-account posting caps
    hold: Instagram 50 a day...): each create is a scheduled post. Every batch shares one local image
    (uploaded once per provider, then reused from the ledger's media cache); captions differ.
    `own_image`: an image of this campaign's own (one pixel changed), which no other campaign's
    upload in the media cache stands for."""
    folder.mkdir(parents=True, exist_ok=True)
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    lines = [
        f"name: {name}",
        "timezone: UTC",
        f"cadence: {{start: '{start}', every: {every}}}",
        f"defaults: {{platforms: [{', '.join(PLATFORMS)}]}}",
        "batches:",
    ]
    if media:
        (folder / "media").mkdir(exist_ok=True)
        if own_image:
            from PIL import Image

            with Image.open(IMAGE) as image:
                image.putpixel((0, 0), (255, 0, 255))
                image.save(folder / "media" / "roast.jpg", quality=90)
        else:
            shutil.copy(IMAGE, folder / "media" / "roast.jpg")
    for i in range(batches):
        lines.append(
            f'  - {{id: b{i:05d}, caption: "Batch {i:05d}: a washed Ethiopian, roasted this morning"'
        )
        lines[-1] += ", media: [media/roast.jpg]}" if media else "}"
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Simulators:
    postforme: str
    late: str
    postforme_root: str
    late_root: str

    def requests(self) -> dict[str, Counter[str]]:
        """API requests each simulator served, by operation (its latency rule fires on every one)."""
        counts = {}
        for name, root in (("postforme", self.postforme_root), ("late", self.late_root)):
            snapshot = httpx.get(root + "/_sim/faults", timeout=30).json()
            counts[name] = Counter(
                {k.split(":", 1)[1]: n for k, n in snapshot["fired_ops"].items() if k.startswith("latency:")}
            )
            counts[name]["all"] = snapshot["requests"]
        return counts

    def traffic(self) -> dict[str, dict]:
        """What each simulator's Traffic layer saw (bench/sims.py): answers by "operation status", the
        rate-limited requests by status, `first` arrival and `last` answer (one monotonic clock)."""
        return {
            name: httpx.get(root + "/_bench/traffic", timeout=30).json()
            for name, root in (("postforme", self.postforme_root), ("late", self.late_root))
        }

    def stats(self) -> dict[str, dict]:
        return {
            name: httpx.get(root + "/_sim/stats", timeout=30).json()
            for name, root in (("postforme", self.postforme_root), ("late", self.late_root))
        }

    def reset(self) -> None:
        """Forget posts and counters (the fault plans are kept: they carry the latency)."""
        for root in (self.postforme_root, self.late_root):
            plan = httpx.get(root + "/_sim/faults", timeout=30).json()["plan"]
            httpx.post(root + "/_sim/reset", timeout=30).raise_for_status()
            httpx.post(root + "/_sim/faults", json=plan, timeout=30).raise_for_status()

    def env(self) -> dict[str, str]:
        return {"POSTDECK_SANDBOX_POSTFORME_URL": self.postforme, "POSTDECK_SANDBOX_LATE_URL": self.late}


@contextmanager
def simulators(*args: str) -> Iterator[Simulators]:
    """bench/sims.py in its own process (its CPU is not the publisher's), stopped on the way out."""
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "sims.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit("the simulators did not start")
        yield Simulators(**json.loads(line))
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def prefect_api() -> Iterator[str]:
    """A temporary Prefect server (SQLite) for this process, heartbeats off as in the tests; yields its URL."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # what `postdeck publish` sets
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield str(PREFECT_API_URL.value())
        # Stopped while still recording the last run's events, the server prints a page of tracebacks.
        wait_for_idle_server(timeout=60.0)


def wait_for_idle_server(timeout: float = 180.0) -> float:
    """Wait until the temporary Prefect server has drained what earlier runs sent it (it keeps working
    through events for a while after a big run); returns the seconds waited."""
    import psutil

    servers = [
        p
        for p in psutil.Process().children(recursive=True)
        if "prefect.server.api.server:create_app" in " ".join(p.cmdline())
    ]
    start = time.monotonic()
    quiet = 0
    while servers and quiet < 3 and time.monotonic() - start < timeout:
        busy = sum(p.cpu_percent(interval=None) for p in servers)
        time.sleep(1.0)
        busy = sum(p.cpu_percent(interval=None) for p in servers)
        quiet = quiet + 1 if busy < 5.0 else 0
    return time.monotonic() - start


@contextmanager
def fresh_state(folder: Path, sims: Simulators) -> Iterator[Path]:
    """The ledger and journal under `folder` (empty the first time: entering the same folder again
    keeps what earlier runs left, such as kept account lists), and the simulators' URLs, in this
    process's env."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ.update(
        POSTDECK_LEDGER=str(folder / "ledger.db"),
        POSTDECK_JOURNAL=str(folder / "journal.jsonl"),
        POSTDECK_RUNS_DIR=str(folder / "runs"),  # each publish run's preview site
        **sims.env(),
    )
    for name in ("POSTFORME_API_KEY", "LATE_API_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"):
        os.environ.pop(name, None)
    try:
        yield folder
    finally:
        os.environ.clear()
        os.environ.update(saved)


def publish_without_prefect(campaign: Path, *, links: list | None = None, workers: int | None = None) -> list:
    """The flow's own steps (validate, expand, plan, late policy, the warm-up, one publish_batch per batch
    in a thread pool, the chain the flow builds) with no Prefect at all: no tasks, no API, no limit."""
    import uuid

    from postdeck.chain_factory import build_chain, close_chain, sandbox_links
    from postdeck.engine.plan import Action, make_plan
    from postdeck.engine.publisher import publish_batch
    from postdeck.ledger import flush_journal, open_ledger
    from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.timing import apply_late_policy
    from postdeck.schemas.validation import require_valid

    loaded = require_valid(campaign).loaded
    assert loaded is not None
    deliveries = expand(loaded)
    ledger = open_ledger()
    flush_journal(ledger)
    now = datetime.now(UTC)
    plan = make_plan(loaded.campaign.name, deliveries, ledger, now)
    creates = apply_late_policy(loaded, [c.delivery for c in plan.of(Action.CREATE) if c.delivery], now)
    if links is None:
        links = sandbox_links(
            os.environ["POSTDECK_SANDBOX_POSTFORME_URL"],
            os.environ["POSTDECK_SANDBOX_LATE_URL"],
            postforme_key=SANDBOX_POSTFORME_KEY,
            late_key=SANDBOX_LATE_KEY,
        )
    chain = build_chain(links, ledger)
    groups: dict[str, list] = {}
    for delivery in creates:
        groups.setdefault(delivery.batch_id, []).append(delivery)
    owner = f"bench:{uuid.uuid4()}"
    try:
        with (
            ThreadPoolExecutor(max_workers=2) as warming,
            ThreadPoolExecutor(max_workers=workers or len(groups) or 1) as pool,
        ):
            warm_up(warming, chain, groups)
            results = pool.map(
                lambda group: publish_batch(group, ledger=ledger, chain=chain, owner=owner), groups.values()
            )
            return [report for reports in results for report in reports]
    finally:
        close_chain(chain)


def warm_up(pool: ThreadPoolExecutor, chain: Any, groups: dict[str, list]) -> None:
    """As the flow's `flows.chains.warming_up` (without importing Prefect): the first provider's accounts
    and the media several batches share, fetched at once while the batches start."""
    link = chain.links[0]
    uses = Counter(ref for group in groups.values() for ref in {m for d in group for m in d.media})
    shared = [ref for ref, n in uses.items() if n > 1 and ref.path is not None]
    pool.submit(chain.accounts_of, link)
    if shared:
        pool.submit(chain.media_urls, link, shared)


def statuses(reports: list) -> Counter[str]:
    return Counter(r["status"] if isinstance(r, dict) else r.status for r in reports)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


@dataclass(frozen=True)
class Measured:
    """One command run as a user runs it: wall seconds, CPU seconds (user + system) of the command and
    the processes it waited for, peak RSS in MiB of its largest process, its output and exit code."""

    wall: float
    cpu: float
    peak: int
    out: str
    code: int


def measure(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run a command in a wrapper process of its own, so that RUSAGE_CHILDREN holds that command's
    processes only (a server it starts in a new session and leaves running is not counted)."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - start\n"
        "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'wall': wall, 'cpu': use.ru_utime + use.ru_stime, 'peak': use.ru_maxrss // 1024,"
        " 'code': done.returncode, 'out': done.stdout[-3000:] + done.stderr[-3000:]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=env, cwd=cwd
    )
    result = Measured(**json.loads(out.stdout.strip().splitlines()[-1]))
    if result.code != 0:
        print(f"warning: {' '.join(command[:3])}... exited {result.code}:\n{result.out[-1500:]}")
    return result


def peak_rss_of(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, int, str, int]:
    """(wall seconds, peak RSS in MiB, output, exit code) of measure()."""
    done = measure(command, env=env, cwd=cwd)
    return done.wall, done.peak, done.out, done.code


def postdeck_cli() -> list[str]:
    exe = Path(sys.executable).with_name("postdeck")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "postdeck.cli"]
