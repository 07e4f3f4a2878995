"""Deliveries: a campaign expanded into one delivery per batch × platform.

The rendering itself lives in expansion.py; `expand` is its strict entry point. The delivery itself
(Delivery, its keys and limits) is in delivery.py; its names are re-exported here for the many modules
that import them from this one.
"""

from __future__ import annotations

from postdeck.errors import CampaignErrors
from postdeck.schemas.delivery import CaptionLength, Delivery, TextLimit, ThreadPart
from postdeck.schemas.loader import LoadedCampaign

__all__ = ["CaptionLength", "Delivery", "TextLimit", "ThreadPart", "expand"]


def expand(loaded: LoadedCampaign, *, only_batches: list[str] | None = None) -> list[Delivery]:
    """Render every batch × platform. Reports every problem of the file at once."""
    from postdeck.schemas.expansion import expand_all  # jinja2 loads only when a campaign is expanded

    prepared, errors = expand_all(loaded, only_batches=only_batches)
    if errors:
        raise CampaignErrors(errors)
    return [p.delivery for p in prepared]
