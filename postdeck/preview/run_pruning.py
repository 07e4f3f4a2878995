"""Keep the runs folder from growing without end: after each run, the oldest run folders beyond
POSTDECK_RUNS_KEPT go (0 keeps every one).

Only folders named as a run names its own (a flow run id: a UUID) are ever removed, so a runs
folder pointed at a shared place loses nothing else. Newest is by the folder's modification time,
which writing a run's site sets.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

log = logging.getLogger("postdeck.preview.run_pruning")


def prune_run_folders(runs_dir: Path, keep: int, *, current: str) -> list[Path]:
    """Remove the oldest run folders of `runs_dir` beyond the newest `keep` (never `current`, the run
    writing now). Returns what was removed; a folder that cannot be removed is logged and kept."""
    if keep <= 0:
        return []
    try:
        runs = [p for p in runs_dir.iterdir() if p.is_dir() and _is_run_id(p.name) and p.name != current]
    except OSError as exc:  # gone or unreadable: nothing to prune, and the run's outcome stands
        log.warning("could not list the runs folder %s: %s", runs_dir, exc)
        return []
    runs.sort(key=_modified, reverse=True)
    removed = []
    for folder in runs[max(keep - 1, 0) :]:  # the current run is one of the kept
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            log.warning("could not remove the old run folder %s: %s", folder, exc)
            continue
        removed.append(folder)
    return removed


def _is_run_id(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _modified(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:
        return 0.0  # gone meanwhile: oldest, and rmtree will say so
