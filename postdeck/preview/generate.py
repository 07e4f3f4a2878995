"""One preview build: the campaigns against the ledger, as of now, written into a folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from postdeck.errors import CampaignError
from postdeck.ledger.base import LedgerReader
from postdeck.preview.model import Refine, build
from postdeck.preview.site import write_site


@dataclass(frozen=True)
class Built:
    index: Path
    deliveries: int
    errors: list[CampaignError]
    campaigns: tuple[str, ...] = ()  # the names previewed (whose ledger rows --serve watches)


def generate(
    paths: Sequence[Path],
    out: Path,
    reader: LedgerReader,
    now: datetime | None = None,
    refine: Refine | None = None,
) -> Built:
    """Write the preview of `paths` into `out`; returns where its index is and what it holds."""
    data = build(paths, reader, now or datetime.now(UTC), out, refine)
    names = tuple(c["name"] for c in data.document["campaigns"])
    return Built(write_site(data.document, out), data.deliveries, data.errors, names)
