"""Post for Me's wire format: platform names both ways, a target's platform configuration, times,
error bodies, and one account's result rows as a TargetResult. No I/O: providers.postforme sends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from postdeck.core.platform import Platform
from postdeck.providers.base import Target, TargetResult, TargetStatus
from postdeck.providers.failures import portable_target_failure
from postdeck.providers.transport import ErrorInfo

# Post for Me calls X `x`; tiktok_business accounts are TikTok to postdeck.
TO_PFM = {p: ("x" if p is Platform.TWITTER else p.value) for p in Platform}
FROM_PFM = {v: k for k, v in TO_PFM.items()} | {"tiktok_business": Platform.TIKTOK}

# postdeck option (schemas/platform_options.py) → Post for Me platform_configurations field.
# Not mapped: facebook `page` and linkedin `organization` (at Post for Me a page or an organization is
# a connected account of its own).
_OPTION_FIELDS: dict[Platform, dict[str, str]] = {
    Platform.YOUTUBE: {"title": "title", "privacy": "privacy_status"},
    Platform.PINTEREST: {"link": "link", "title": "title"},
    Platform.INSTAGRAM: {"placement": "placement"},
    Platform.FACEBOOK: {"placement": "placement"},
    Platform.THREADS: {"placement": "placement"},
}
# Post for Me's TikTok privacy is public|private (private = SELF_ONLY). Levels it cannot express go out
# private: narrower than asked, never wider.
_TIKTOK_PUBLIC = {"PUBLIC_TO_EVERYONE", "public"}


def describe_error(response: httpx.Response) -> ErrorInfo:
    """Nest bodies: `message` (a string or a list) plus, for post validation, `errors[]`."""
    try:
        data = response.json()
    except ValueError:
        return ErrorInfo(response.text.strip()[:200] or response.reason_phrase)
    if not isinstance(data, dict):
        return ErrorInfo(str(data)[:200])
    message = data.get("message") or data.get("error") or response.reason_phrase
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        message = f"{message}: " + "; ".join(str(e) for e in errors)
    return ErrorInfo(str(message))


def iso_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("scheduled_at must be timezone-aware")
    return moment.isoformat()


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def configuration(target: Target, shared_caption: str) -> dict[str, Any]:
    """A target's platform configuration: its own caption, plus the options Post for Me knows."""
    if target.thread or target.options.get("first_comment"):
        # Post for Me has neither (reference providers.md §1.6): the chain routes these elsewhere.
        raise ValueError(f"Post for Me cannot publish a thread or a first comment on {target.platform}")
    config: dict[str, Any] = {}
    if target.caption != shared_caption:
        config["caption"] = target.caption
    for option, field in _OPTION_FIELDS.get(target.platform, {}).items():
        if target.options.get(option) is not None:
            config[field] = target.options[option]
    if target.platform is Platform.PINTEREST and target.options.get("board"):
        config["board_ids"] = [str(target.options["board"])]
    if target.platform is Platform.TIKTOK and target.options.get("privacy"):
        config["privacy_status"] = "public" if target.options["privacy"] in _TIKTOK_PUBLIC else "private"
    return config


def caption_of(post: dict[str, Any], account_id: str, pfm_platform: str) -> str | None:
    """The words a stored post holds for one account: its account configuration's caption, else its
    platform configuration's, else the post's (Post for Me's own order)."""
    for config in post.get("account_configurations") or []:
        if isinstance(config, dict) and config.get("social_account_id") == account_id:
            own = (config.get("configuration") or {}).get("caption")
            if isinstance(own, str) and own:
                return own
    platform_config = (post.get("platform_configurations") or {}).get(pfm_platform)
    own = platform_config.get("caption") if isinstance(platform_config, dict) else None
    if isinstance(own, str) and own:
        return own
    caption = post.get("caption")
    return caption if isinstance(caption, str) else None


def target_result(platform: Platform, account_id: str, rows: list[dict[str, Any]]) -> TargetResult:
    if not rows:
        # Processed without a row for this account: not a verdict, so never report a failure that
        # could make postdeck send the post again.
        return TargetResult(platform, account_id, TargetStatus.PENDING)
    row = next((r for r in rows if r.get("success") is True), rows[0])
    if row.get("success") is True:
        data = row.get("platform_data") or {}
        return TargetResult(
            platform, account_id, TargetStatus.POSTED, platform_post_id=data.get("id"), url=data.get("url")
        )
    error = str(row.get("error") or "failed at Post for Me")
    return TargetResult(
        platform,
        account_id,
        TargetStatus.FAILED,
        error=error,
        portable=portable_target_failure(None, error),
    )


def planned_time(post: dict[str, Any]) -> datetime | None:
    """The post's planned time; None for immediate posts (whose scheduled_at is their creation time)."""
    scheduled, created = parse_time(post.get("scheduled_at")), parse_time(post.get("created_at"))
    if scheduled is None:
        return None
    if post.get("status") == "scheduled" or created is None or scheduled - created > timedelta(minutes=1):
        return scheduled
    return None
