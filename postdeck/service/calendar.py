"""Seed 000's campaign calendar: `campaigns.creative_calendar.batches[n].caption` in the app's database.

Read exactly as the seed reads it: the `campaigns` row whose id is the campaign id, its
`creative_calendar` JSON, the batch `batches[n]`. A calendar whose batches carry their own number
(`batch_number` or `number`) is matched by it instead, so a reordered list still finds its batch.
"""

from __future__ import annotations

import json
from typing import Any

from postdeck.errors import PostdeckError


class CalendarError(PostdeckError):
    """The campaign's calendar or the batch cannot be read."""


def calendar_caption(client: Any, campaign_id: str, batch_number: int) -> str:
    try:
        rows = client.table("campaigns").select("creative_calendar").eq("id", str(campaign_id)).execute().data
    except Exception as exc:  # supabase-py raises its own errors and httpx's: all mean "cannot read"
        raise CalendarError(f"cannot read campaign {campaign_id}: {type(exc).__name__}: {exc}") from None
    if not rows:
        raise CalendarError(f"no campaign {campaign_id} in the campaigns table")
    calendar = rows[0].get("creative_calendar")
    if isinstance(calendar, str):
        try:
            calendar = json.loads(calendar)
        except ValueError:
            raise CalendarError(f"campaign {campaign_id}: creative_calendar is not JSON") from None
    batches = calendar.get("batches") if isinstance(calendar, dict) else None
    batch = _batch(batches, batch_number)
    if batch is None:
        raise CalendarError(f"campaign {campaign_id} has no batch {batch_number} in its creative_calendar")
    caption = batch.get("caption") if isinstance(batch, dict) else None
    if not isinstance(caption, str) or not caption.strip():
        raise CalendarError(f"batch {batch_number} of campaign {campaign_id} has no caption")
    return caption


def _batch(batches: Any, number: int) -> Any:
    if isinstance(batches, dict):  # {"3": {...}}
        return batches.get(str(number))
    if not isinstance(batches, list):
        return None
    numbered = [
        b for b in batches if isinstance(b, dict) and (b.get("batch_number", b.get("number")) == number)
    ]
    if numbered:
        return numbered[0]
    return batches[number] if 0 <= number < len(batches) else None
