"""Rows of the ledger tables as Python values, the same whichever backend stored them.

SQLite keeps arrays and objects as JSON text and times as ISO text; PostgREST returns JSON arrays,
objects and ISO times. Both end up here as DeliveryRecord and PostRecord.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.records import (
    RUN_KINDS,
    RUN_STATUSES,
    CampaignRun,
    DeliveryRecord,
    PostRecord,
    RunSource,
)

_DELIVERY_FIELDS = {f.name for f in fields(DeliveryRecord)}
_POST_FIELDS = [f.name for f in fields(PostRecord)]
SOCIAL_POST_COLUMNS = frozenset(_POST_FIELDS)
_POST_TIMES = ("scheduled_for", "posted_at", "created_at")
HISTORY_LIMIT_MAX = 1000
_SHA_PREFIX = re.compile(r"[0-9a-f]{1,64}")


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _json(value: Any, empty: Any) -> Any:
    if value is None or value == "":
        return empty
    return json.loads(value) if isinstance(value, str) else value


def delivery_record(row: Mapping[str, Any]) -> DeliveryRecord:
    data = {k: row[k] for k in row.keys() if k in _DELIVERY_FIELDS}  # noqa: SIM118 (sqlite3.Row)
    data["status"] = DeliveryStatus(data["status"])
    attempted = data.get("attempted_providers") or ()
    if isinstance(attempted, str):  # SQLite keeps them comma-separated
        attempted = [p for p in attempted.split(",") if p]
    data["attempted_providers"] = tuple(attempted)
    for name in ("lease_until", "scheduled_for", "created_at", "updated_at"):
        data[name] = parse_time(data.get(name))
    for name in ("run_id", "user_id"):
        if data.get(name) is not None:
            data[name] = str(data[name])
    data["keep_cancelled"] = bool(data.get("keep_cancelled"))  # SQLite keeps 0 and 1
    return DeliveryRecord(**data)


def post_record(row: Mapping[str, Any]) -> PostRecord:
    data: dict[str, Any] = {name: row[name] if name in row.keys() else None for name in _POST_FIELDS}  # noqa: SIM118
    data["id"] = str(data["id"])
    for name in ("platforms", "media_urls"):
        data[name] = tuple(_json(data[name], []))
    for name in ("platform_post_ids", "platform_post_urls"):
        data[name] = dict(_json(data[name], {}))
    for name in _POST_TIMES:
        data[name] = parse_time(data[name])
    for name in ("user_id", "campaign_id"):
        data[name] = str(data[name]) if data[name] is not None else None
    return PostRecord(**data)


def social_post_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Check a history row's column names before any backend sees it (they become SQL identifiers);
    the times it gives as datetimes become ISO text, as both backends store them."""
    unknown = sorted(set(row) - SOCIAL_POST_COLUMNS)
    if unknown:
        raise LedgerRefused(f"social_posts has no column {', '.join(unknown)}")
    checked = dict(row)
    for name in _POST_TIMES:
        if isinstance(checked.get(name), datetime):
            checked[name] = iso(checked[name])
    return checked


def check_page(limit: int, offset: int) -> None:
    if not 0 < limit <= HISTORY_LIMIT_MAX or offset < 0:
        raise LedgerRefused(f"history pages hold 1 to {HISTORY_LIMIT_MAX} rows from offset 0 or more")


def campaign_run(row: Mapping[str, Any]) -> CampaignRun:
    return CampaignRun(
        id=str(row["id"]),
        campaign=row["campaign"],
        status=row["status"],
        flow_run_id=row["flow_run_id"],
        user_id=str(row["user_id"]) if row["user_id"] is not None else None,
        summary=dict(_json(row["summary"], {})),
        error=row["error"],
        started_at=parse_time(row["started_at"]),
        finished_at=parse_time(row["finished_at"]),
        source=RunSource(
            commit_sha=row["commit_sha"],
            dirty=bool(row["dirty"]),
            campaign_path=row["campaign_path"],
            content_hash=row["content_hash"],
            plan_hash=row["plan_hash"],
        ),
        kind=row["kind"],
        heartbeat_at=parse_time(row["heartbeat_at"]),
    )


def run_source_columns(source: RunSource | None) -> dict[str, Any]:
    """A run's source as campaign_runs columns (the same names in both backends)."""
    source = source or RunSource()
    return {
        "commit_sha": source.commit_sha,
        "dirty": source.dirty,
        "campaign_path": source.campaign_path,
        "content_hash": source.content_hash,
        "plan_hash": source.plan_hash,
    }


def commit_prefix(prefix: str) -> str:
    """A commit filter as given (`--commit 3f2c9a1b`): hex digits, compared lower-case."""
    lowered = prefix.strip().lower()
    if _SHA_PREFIX.fullmatch(lowered) is None:
        raise LedgerRefused(f"a commit is given by hex digits of its SHA (e.g. 3f2c9a1b), not {prefix!r}")
    return lowered


def check_run_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise LedgerRefused(f"unknown run status '{status}': use one of {', '.join(RUN_STATUSES)}")


def check_run_kind(kind: str) -> None:
    if kind not in RUN_KINDS:
        raise LedgerRefused(f"unknown run kind '{kind}': use one of {', '.join(RUN_KINDS)}")


def crashed_changes(run: CampaignRun, error: str) -> dict[str, Any]:
    """What recording a silent run crashed changes: its end is its last heartbeat (its start if it
    never beat), the last moment it is known to have been alive."""
    last_alive = run.heartbeat_at or run.started_at
    return {"status": "crashed", "error": error, "finished_at": iso(last_alive)}
