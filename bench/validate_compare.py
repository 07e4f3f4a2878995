"""`postdeck validate` of the working tree beside other commits', side by side in one run: the same
campaigns, cold processes taking turns (so that other work on the machine weighs on all alike).

    .venv/bin/python bench/validate_compare.py [--ref REF ...] [--batches 10000] [--files 100] [--runs 5]

Each `--ref` (a commit, branch or tag) is checked out in a temporary git worktree and imported from
a tree of links (scripts/in_package_tree.py lays it) with this venv's packages; the working tree is
measured too, unless `--without-tree` (to go on editing it meanwhile: its files are linked, not copied). The campaigns: scale_bench.py's one file of `--batches` batches × 4 platforms,
validate_bench.py's `--files` files × 50 batches (styles, wrappers, LinkedIn options: the routed
path), and the scale campaign's batches as X threads of three parts with first comments on LinkedIn
(for the trees whose campaign language has them; others show "n/a"). Under load the CPU time (user +
system of the process) is the steadier figure; the ratio compares it with the first tree's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import REPO, header, measure, write_campaign
from validate_bench import generate

sys.path.insert(0, str(REPO / "scripts"))
from in_package_tree import lay_tree

PROBE = (
    "import postdeck.schemas.rules as r; from postdeck.schemas.campaign import Batch; "
    "print(r.__file__, 'thread' in Batch.model_fields)"
)
RUN = "import sys; from postdeck.cli import main; sys.argv = ['postdeck', *sys.argv[1:]]; main()"


def threads_campaign(folder: Path, batches: int) -> Path:
    """`batches` batches: every other one a thread of three posts on X, Bluesky and Threads, the
    others a LinkedIn and Facebook post with a first comment."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "name: threads",
        "timezone: UTC",
        "cadence: {start: '2030-01-01 09:00', every: 30m}",
        "batches:",
    ]
    for i in range(batches):
        lines.append(
            f'  - id: b{i:05d}\n    caption: "Batch {i:05d}: a washed Ethiopian, roasted this morning"'
        )
        if i % 2:
            lines += [
                "    platforms: [linkedin, facebook]",
                f"    first_comment: 'Brew guide {i}: https://example.com/brew'",
            ]
        else:
            lines += [
                "    platforms: [twitter, bluesky, threads]",
                f"    thread: [{{caption: 'Batch {i}: the green coffee'}}, {{caption: 'Batch {i}: ships Monday'}}]",
            ]
    path = folder / "threads.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tree_of(ref: str, scratch: Path) -> tuple[str, Path]:
    """(a label, the folder to put on PYTHONPATH) for a git ref, checked out in its own worktree."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short=8", ref], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    checkout = scratch / f"checkout-{sha}"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(checkout), sha], cwd=REPO, check=True
    )
    return f"{ref} ({sha})", lay_tree(checkout, scratch / f"tree-{sha}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", action="append", default=[], help="a commit to measure beside the tree")
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--without-tree", action="store_true", help="measure the refs only")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run removes its worktrees too
    with tempfile.TemporaryDirectory(prefix="postdeck-compare-") as tmp:
        scratch = Path(tmp)
        trees: list[tuple[str, Path]] = []
        try:
            for ref in args.ref:
                trees.append(tree_of(ref, scratch))
            if not args.without_tree:
                trees.append(("working tree", lay_tree(REPO, scratch / "tree-work")))
            threads = f"{args.batches:,} threads + first comments"
            unsupported: set[tuple[str, str]] = set()  # a tree whose language lacks what a campaign uses
            for label, tree in trees:  # each tree's own code, not the editable install's
                where, knows = subprocess.run(
                    [sys.executable, "-c", PROBE],
                    env={**os.environ, "PYTHONPATH": str(tree)},
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                assert where.startswith(str(tree)), where
                if knows != "True":
                    unsupported.add((label, threads))
            campaigns = {
                f"1 file × {args.batches:,} batches": write_campaign(
                    scratch / "scale", args.batches, name="scale", every="30m"
                ),
                f"{args.files} files × 50 batches": scratch / "many",
                threads: threads_campaign(scratch / "threads", args.batches),
            }
            generate(scratch / "many", args.files, 50)
            header(
                "postdeck validate --quiet, side by side (cold processes, taking turns)",
                load=" ".join(f"{x:.2f}" for x in os.getloadavg())
                + " (1, 5, 15 min average: other work skews)",
            )
            results: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for _ in range(args.runs):
                for label, tree in trees:
                    env = {**os.environ, "PYTHONPATH": str(tree), "POSTDECK_LEDGER": str(scratch / "l.db")}
                    for name, campaign in campaigns.items():
                        if (label, name) in unsupported:
                            continue
                        command = [sys.executable, "-c", RUN, "validate", "--quiet", str(campaign)]
                        done = measure(command, env=env, cwd=scratch)  # not the repo: its postdeck/ first
                        results.setdefault((label, name), []).append((done.wall, done.cpu))
        finally:
            for _label, tree in trees:
                checkout = tree.with_name(tree.name.replace("tree-", "checkout-"))
                if checkout.exists():
                    subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=REPO)
            shutil.rmtree(scratch / "tree-work", ignore_errors=True)
    width = max(len(label) for label, _ in trees)
    for name in campaigns:
        print(f"\n{name}")
        base = None
        for label, _ in trees:
            runs = results.get((label, name)) or []
            if not runs:
                print(f"  {label:<{width}}  n/a (the campaign language of this tree has no threads)")
                continue
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            base = base or cpu
            print(
                f"  {label:<{width}}  median {wall:6.2f} s wall, {cpu:6.2f} s CPU"
                f"   (min {min(w for w, _ in runs):.2f} s wall, {min(c for _, c in runs):.2f} s CPU;"
                f" {len(runs)} runs)   CPU {cpu / base:5.2f}× the first"
            )


if __name__ == "__main__":
    main()
