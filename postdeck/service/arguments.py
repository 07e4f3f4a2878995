"""The seed API's arguments as callers give them (platform names, "all", a campaign or its file) and the
grouping of selected deliveries by owner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from postdeck.core.platform import Platform, platform_named
from postdeck.errors import PostdeckError
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.chain import Chain
from postdeck.service import schedules
from postdeck.service.posting import connected_platforms


def platform(name: str) -> Platform:
    try:
        return platform_named(name)
    except ValueError as exc:
        raise PostdeckError(str(exc)) from None


def targets(platforms: Sequence[str] | str, chain: Chain) -> tuple[Platform, ...]:
    names = [platforms] if isinstance(platforms, str) else list(platforms)
    names = [n for part in names for n in str(part).split(",") if n.strip()]
    if [n.strip().lower() for n in names] == ["all"]:
        # Seed 002's quick_post: every platform some provider has a connected account for.
        found = connected_platforms(chain)
        if not found:
            raise PostdeckError("No connected accounts for: ['all']")
        return tuple(p for p in Platform if p in found)
    return tuple(dict.fromkeys(platform(n) for n in names))


def looks_like_file(campaign: str) -> bool:
    return str(campaign).endswith((".yaml", ".yml")) or Path(str(campaign)).is_file()


def by_owner(records: Iterable[DeliveryRecord]) -> dict[str | None, list[DeliveryRecord]]:
    groups: dict[str | None, list[DeliveryRecord]] = {}
    for record in records:
        groups.setdefault(record.user_id, []).append(record)
    return groups


def missing(key: str) -> schedules.ScheduleReport:
    return schedules.ScheduleReport(key, "", "", "", "skipped", error="no such delivery in the ledger")
