"""The preview site of one publish run, written beside the run: POSTDECK_RUNS_DIR (.postdeck/runs)
/<flow run id>/preview/, one folder per run; the newest POSTDECK_RUNS_KEPT are kept (run_pruning.py).

Built from what the run knows (its plan and its reports' statuses), never from the ledger or the
files again. Made while the run's campaign is still readable (a ref's checkout is removed when the
run's source closes), so the thumbnails are of the commit that was published. A site that cannot be
written must not fail a run whose posts went out: the reason is returned for the artifact to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postdeck.engine.plan import Plan
from postdeck.preview.model import build_run
from postdeck.preview.run_pruning import prune_run_folders
from postdeck.preview.site import write_site
from postdeck.settings import settings


@dataclass(frozen=True)
class RunSite:
    index: Path | None  # the site's index.html (absolute); None: not written
    problem: str = ""  # why not

    @property
    def for_markdown(self) -> Path | str:
        """What month_markdown links to: the index, or the sentence saying why there is none."""
        return self.index if self.index is not None else f"The preview site was not written: {self.problem}"


def run_folder(run_id: str) -> Path:
    """Where run `run_id`'s site goes (absolute: its file:// URL is shown elsewhere)."""
    return (Path(settings().runs_dir) / run_id / "preview").resolve()


def write_run_site(
    campaign: Any,
    file: str,
    plan: Plan,
    reports: Sequence[Mapping[str, Any]],
    *,
    run_id: str,
    now: datetime,
    source: str,
    dry_run: bool,
) -> RunSite:
    """Write the site of the run `run_id` (its flow run id) of `campaign` (its name and timezone)."""
    try:
        out = run_folder(run_id)
        kind = "dry run" if dry_run else "run"
        title = f"publish-campaign {kind} {run_id} of {file} ({source}), {now:%Y-%m-%d %H:%M} UTC"
        data = build_run(
            campaign.name, campaign.timezone, file, plan, reports, now, out, title=title, dry_run=dry_run
        )
        index = write_site(data.document, out)
    except Exception as exc:  # a full disk or an unwritable folder: the run's outcome stands regardless
        return RunSite(None, f"{type(exc).__name__}: {exc}")
    config = settings()
    prune_run_folders(Path(config.runs_dir), config.runs_kept, current=run_id)
    return RunSite(index)
