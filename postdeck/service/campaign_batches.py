"""Find a campaign file and one of its batches (seed 000's publish_batch, for campaigns as code).

A campaign is named by its file's path or by its `name:` (searched for under the campaigns folder,
`campaigns/` or POSTDECK_CAMPAIGNS_DIR). A batch is named by its id, or by its number in the file
(1 for the first). The deliveries are the ones `postdeck publish` makes, with the same keys: a batch
published through the service is never published again by the flow, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from postdeck.core.keys import base_batch_id
from postdeck.core.platform import Platform
from postdeck.errors import PostdeckError
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.timing import apply_late_policy
from postdeck.schemas.validation import require_valid
from postdeck.settings import file_limits, settings

DEFAULT_CAMPAIGNS_DIR = Path("campaigns")


class CampaignNotFound(PostdeckError):
    """No campaign file or batch by that name."""


def campaigns_dir(path: Path | str | None = None) -> Path:
    return Path(path or settings().campaigns_dir)  # DEFAULT_CAMPAIGNS_DIR when unset


def find_campaign(name_or_path: str | Path, folders: Iterable[Path]) -> Path:
    """The campaign file: the path itself, or the file under `folders` whose `name:` matches."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    name = str(name_or_path)
    searched = []
    for folder in folders:
        searched.append(str(folder))
        for candidate in sorted(folder.rglob("*.y*ml")) if folder.is_dir() else []:
            if _campaign_name(candidate) == name:
                return candidate
    raise CampaignNotFound(f"no campaign file named '{name}' (looked in {', '.join(searched) or 'nothing'})")


def batch_deliveries(
    path: Path,
    batch: int | str,
    *,
    platforms: Iterable[Platform] | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """The deliveries of one batch, validated like `postdeck validate`, the late policy applied."""
    report = require_valid(path, limits=file_limits())
    loaded = report.loaded
    assert loaded is not None
    batches = loaded.campaign.batches
    if isinstance(batch, int) and not isinstance(batch, bool):
        if not 1 <= batch <= len(batches):
            raise CampaignNotFound(f"{path} has batches 1 to {len(batches)}, not {batch}")
        batch_id = batches[batch - 1].id
    else:
        batch_id = str(batch)
        if batch_id not in {b.id for b in batches}:
            raise CampaignNotFound(f"{path} has no batch '{batch_id}'")
    deliveries = [p.delivery for p in report.prepared if base_batch_id(p.delivery.batch_id) == batch_id]
    if platforms is not None:
        wanted = set(platforms)
        absent = sorted(p.value for p in wanted - {d.platform for d in deliveries})
        if absent:
            raise CampaignNotFound(f"batch '{batch_id}' of {path} does not post to {', '.join(absent)}")
        deliveries = [d for d in deliveries if d.platform in wanted]
    now = now or datetime.now(UTC)
    # A repeating batch: its occurrences within the horizon, as `publish` would (the sync sends the rest).
    deliveries = [d for d in deliveries if not d.beyond_horizon(now)]
    return apply_late_policy(loaded, deliveries, now)


def _campaign_name(path: Path) -> str | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data.get("name") if isinstance(data, dict) and isinstance(data.get("batches"), list) else None
