"""How long `postdeck validate` takes as a cold process, beside a bare `python -c pass`.

Generates 100 campaign files of 50 batches each in a temporary folder (four to six platforms per
batch, templates and styles, cadence, shared media), then runs each command several times as a
fresh process and prints the timings with the machine they ran on. Target: under 1 s.

    .venv/bin/python bench/validate_bench.py [--files 100] [--batches 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "campaigns" / "media" / "spring-roast.jpg"

CAMPAIGN = """\
# yaml-language-server: $schema=../schemas/campaign.schema.json
name: bench-{n:03d}
timezone: Europe/Berlin
owner: user-{n:03d}
late: skip
vars:
  brand: Roastery {n}
  shop_url: https://roastery{n}.com/shop
cadence:
  start: 2030-01-01 09:00
  every: 6h
defaults:
  platforms: [twitter, bluesky, linkedin, threads]
  style: house
accounts:
  twitter: {{handle: roastery{n}}}
  linkedin: {{organization: "urn:li:organization:{n}"}}
  facebook: {{page: "10000{n}"}}
styles:
  house:
    template: "{{{{ caption }}}} {{{{ shop_url }}}}"
    bluesky: {{template: "{{{{ caption }}}}"}}
batches:
{batches}"""

BATCH = """\
  - id: post-{i:03d}
    caption: "{{{{ brand }}}} batch {i}: {text}"
{extra}"""

TEXTS = [
    "a washed Ethiopian with notes of apricot and jasmine, roasted this morning and packed by hand.",
    "our head roaster on why lighter roasts taste sweeter when you brew them a little hotter.",
    "free tasting this Saturday from ten to two; bring a friend and leave with a bag of beans.",
    "the new filter blend is in: chocolate, hazelnut and a long caramel finish. ☕",
]


def generate(folder: Path, files: int, batches: int) -> None:
    (folder / "media").mkdir(parents=True)
    shutil.copy(IMAGE, folder / "media" / "roast.jpg")
    for n in range(files):
        parts = []
        for i in range(batches):
            extra = ""
            if i % 5 == 0:
                extra = "    media: [media/roast.jpg]\n    platforms: [twitter, bluesky, linkedin, threads, facebook, instagram]\n"
            elif i % 7 == 0:
                extra = (
                    '    linkedin: {caption: "{{ brand }}: a longer note for the trade, batch '
                    + str(i)
                    + '."}\n'
                )
            parts.append(BATCH.format(i=i, text=TEXTS[i % len(TEXTS)], extra=extra))
        (folder / f"campaign-{n:03d}.yaml").write_text(
            CAMPAIGN.format(n=n, batches="".join(parts)), encoding="utf-8"
        )


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return times


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.platform()}; {cpu}; {os.cpu_count()} CPUs{memory}; "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()  # other work on the machine skews every figure below
    postdeck = Path(sys.executable).with_name("postdeck")
    cli = [str(postdeck)] if postdeck.exists() else [sys.executable, "-m", "postdeck.cli"]
    with tempfile.TemporaryDirectory(prefix="postdeck-bench-") as tmp:
        folder = Path(tmp) / "campaigns"
        generate(folder, args.files, args.batches)
        lines = sum(len(p.read_text().splitlines()) for p in folder.glob("*.yaml"))
        bare = timed([sys.executable, "-c", "pass"], args.runs)
        validate = timed([*cli, "validate", "--quiet", str(folder)], args.runs)
        # The same with its 1,000 warnings printed (to a pipe, as in a pre-commit hook or CI).
        warnings = timed([*cli, "validate", str(folder)], args.runs)
    print(f"machine:  {machine()}")
    print(f"load:     {' '.join(f'{x:.2f}' for x in load)} (1, 5, 15 min average, before the runs)")
    print(f"input:    {args.files} files × {args.batches} batches ({lines:,} YAML lines)")
    for name, times in (
        ("python -c pass", bare),
        ("postdeck validate", validate),
        ("  without --quiet", warnings),
    ):
        print(
            f"{name:<18} min {min(times):.3f} s   median {statistics.median(times):.3f} s   "
            f"max {max(times):.3f} s   ({len(times)} cold runs)"
        )
    print(
        f"validate minus interpreter start-up (median): {statistics.median(validate) - statistics.median(bare):.3f} s"
    )


if __name__ == "__main__":
    main()
