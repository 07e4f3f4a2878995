"""Deliveries to and from JSON-ready dicts (a saved plan carries them to `publish --plan`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from postdeck.core.platform import Platform
from postdeck.schemas.delivery import Delivery, TextLimit, ThreadPart
from postdeck.schemas.media import MediaRef


def delivery_to_dict(delivery: Delivery) -> dict[str, Any]:
    data = {
        "key": delivery.key,
        "campaign": delivery.campaign,
        "batch_id": delivery.batch_id,
        "platform": delivery.platform.value,
        "caption": delivery.caption,
        "media": [_media_to_dict(m) for m in delivery.media],
        "at": delivery.at.isoformat() if delivery.at else None,
        "owner": delivery.owner,
        "options": delivery.options,
        "limits": [{"value": lim.value, "unit": lim.unit, "by": lim.by} for lim in delivery.limits],
        **({"repeat": delivery.repeat, "horizon_days": delivery.horizon_days} if delivery.repeat else {}),
        "content_hash": delivery.content_hash,
        "schedule_hash": delivery.schedule_hash,
    }
    if delivery.comment_limits:  # only where a platform documents its own: other JSON stays as it was
        data["comment_limits"] = [
            {"value": lim.value, "unit": lim.unit, "by": lim.by} for lim in delivery.comment_limits
        ]
    if delivery.thread:  # only a thread's: other deliveries' JSON stays as it was
        data["thread"] = [
            {"caption": p.caption, "media": [_media_to_dict(m) for m in p.media]} for p in delivery.thread
        ]
    return data


def delivery_from_dict(data: dict[str, Any]) -> Delivery:
    delivery = Delivery(
        key=data["key"],
        campaign=data["campaign"],
        batch_id=data["batch_id"],
        platform=Platform(data["platform"]),
        caption=data["caption"],
        media=tuple(_media_from_dict(m) for m in data.get("media", [])),
        at=datetime.fromisoformat(data["at"]) if data.get("at") else None,
        owner=data.get("owner"),
        options=dict(data.get("options") or {}),
        limits=_limits(data.get("limits") or []),
        comment_limits=_limits(data.get("comment_limits") or []),
        repeat=data.get("repeat") or "",
        horizon_days=data.get("horizon_days"),
        thread=tuple(
            ThreadPart(p["caption"], tuple(_media_from_dict(m) for m in p.get("media", [])))
            for p in data.get("thread") or []
        ),
    )
    for name in ("content_hash", "schedule_hash"):  # a hand-edited plan must not publish other content
        if name in data and data[name] != getattr(delivery, name):
            raise ValueError(f"{delivery.key}: {name} does not match its content (was the plan edited?)")
    return delivery


def _limits(rows: list[dict[str, Any]]) -> tuple[TextLimit, ...]:
    return tuple(TextLimit(int(x["value"]), x["unit"], x.get("by", "platform")) for x in rows)


def _media_to_dict(ref: MediaRef) -> dict[str, Any]:
    return {
        "source": ref.source,
        "path": str(ref.path) if ref.path else None,
        "url": ref.url,
        "sha256": ref.sha256,
        "content_type": ref.content_type,
        "size": ref.size,
    }


def _media_from_dict(data: dict[str, Any]) -> MediaRef:
    return MediaRef(
        source=data["source"],
        path=Path(data["path"]) if data.get("path") else None,
        url=data.get("url"),
        sha256=data.get("sha256"),
        content_type=data.get("content_type") or "application/octet-stream",
        size=data.get("size"),
    )
