"""Rules about time: a post to create must not be in the past when it is published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.loader import LoadedCampaign


def check_not_in_past(loaded: LoadedCampaign, creates: Sequence[Delivery], now: datetime) -> None:
    """A scheduled time already past would publish at once (LATE) or be refused (PostForMe): say so first."""
    errors = []
    index = {b.id: i for i, b in enumerate(loaded.campaign.batches)}
    for batch_id in sorted({d.batch_id for d in creates if d.at is not None and d.at <= now}):
        at = next(d.at for d in creates if d.batch_id == batch_id)
        errors.append(
            CampaignError(
                f"time {at.isoformat()} is in the past",
                location=loaded.source.location(("batches", index[batch_id], "at")),
                field=f"batches[{index[batch_id]}].at",
                fix="move it into the future, or remove `at` to publish now",
            )
        )
    if errors:
        raise CampaignErrors(errors)
