"""The providers' webhook events read into plain values; any other shape is Refused with a 400.

Shapes (../shared/reference/providers.md, 1.11 and 2.13):
- PostForMe: `{"event_type", "data"}`, no event id and no timestamp. Post events name the post in
  `data.id`, result events in `data.post_id`.
- LATE: `{"id", "event", "timestamp", "post"|"account", ...}`; `id` is stable and `timestamp` fixed
  across retries. Post events carry `post.platforms[]` with each platform's outcome.
Fields a receiver does not use are not checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from postdeck.webhook_intake import Refused

_ERROR_TEXT_LIMIT = 2_000  # an error that is not text is kept as its JSON, this long at most


@dataclass(frozen=True)
class PostForMeEvent:
    kind: str
    post_id: str | None


@dataclass(frozen=True)
class LateTarget:
    platform: str
    status: str
    platform_post_id: str | None
    url: str | None
    error: str | None


@dataclass(frozen=True)
class LateEvent:
    event_id: str | None
    kind: str
    timestamp: datetime | None
    post_id: str | None
    targets: tuple[LateTarget, ...]


def postforme_event(data: dict[str, Any]) -> PostForMeEvent:
    kind = _text(data, "event_type", required=True)
    body = _object(data, "data")
    field = "post_id" if kind == "social.post.result.created" else "id"
    return PostForMeEvent(kind, _text(body, field, where="data."))  # type: ignore[arg-type]


def late_event(data: dict[str, Any]) -> LateEvent:
    kind = _text(data, "event", required=True)
    post = _object(data, "post")
    platforms = post.get("platforms")
    if platforms is None:
        platforms = []
    if not isinstance(platforms, list):
        raise Refused(400, "post.platforms must be a list")
    return LateEvent(
        event_id=_text(data, "id"),
        kind=kind,  # type: ignore[arg-type]
        timestamp=_time(data.get("timestamp")),
        post_id=_text(post, "id", where="post."),
        targets=tuple(_target(entry) for entry in platforms),
    )


def _target(entry: Any) -> LateTarget:
    if not isinstance(entry, dict):
        raise Refused(400, "each of post.platforms must be an object")
    where = "post.platforms[]."
    error = entry.get("error")
    if error is not None and not isinstance(error, str):
        error = json.dumps(error)[:_ERROR_TEXT_LIMIT]
    return LateTarget(
        platform=_text(entry, "platform", where=where, required=True),  # type: ignore[arg-type]
        status=_text(entry, "status", where=where, required=True),  # type: ignore[arg-type]
        platform_post_id=_text(entry, "platformPostId", where=where),
        url=_text(entry, "publishedUrl", where=where),
        error=error,
    )


def _text(data: dict[str, Any], name: str, *, where: str = "", required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"{where}{name} must be a string")
    return value


def _object(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused(400, f"{name} must be an object")
    return value


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise Refused(400, "timestamp must be an ISO 8601 time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
