"""LATE's wire format: postdeck's PostRequest as a createPost body, and LATE's replies (posts,
accounts, error bodies) as PostOutcome, Account and ErrorInfo. No I/O: providers.late sends them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from postdeck.core.platform import Platform
from postdeck.providers.base import (
    Account,
    PostOutcome,
    PostRequest,
    Target,
    TargetResult,
    TargetStatus,
    without_tokens,
)
from postdeck.providers.failures import portable_target_failure
from postdeck.providers.transport import ErrorInfo

PROVIDER = "late"
POST_KEY_FIELD = "postdeck_post_key"  # in a post's metadata: LATE stores and echoes it
_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".avi", ".mpeg", ".mpg"})
_TIKTOK_PRIVACY = {
    "public": "PUBLIC_TO_EVERYONE",
    "everyone": "PUBLIC_TO_EVERYONE",
    "friends": "MUTUAL_FOLLOW_FRIENDS",
    "mutual": "MUTUAL_FOLLOW_FRIENDS",
    "followers": "FOLLOWER_OF_CREATOR",
    "private": "SELF_ONLY",
    "self": "SELF_ONLY",
    "self_only": "SELF_ONLY",
}
# Where LATE takes platformSpecificData.threadItems and .firstComment (reference providers.md §2.8;
# schemas/platform_rules.yaml `features` says the same, for validation and routing).
THREAD_PLATFORMS = frozenset({Platform.TWITTER, Platform.THREADS, Platform.BLUESKY})
FIRST_COMMENT_PLATFORMS = frozenset(
    {Platform.FACEBOOK, Platform.INSTAGRAM, Platform.LINKEDIN, Platform.YOUTUBE}
)
_PLATFORM_NAMES = {p.value for p in Platform}  # LATE's names are postdeck's (X is `twitter` at both)


def describe_error(response: httpx.Response) -> ErrorInfo:
    """`{error, type?, code?, param?, platform?, details?}`: only `error` is always there."""
    data = json_or_empty(response)
    error, code, platform, details = (data.get(name) for name in ("error", "code", "platform", "details"))
    message = error if isinstance(error, str) else f"HTTP {response.status_code}"
    platforms = (platform,) if isinstance(platform, str) and platform in _PLATFORM_NAMES else ()
    return ErrorInfo(
        message,
        code=code if isinstance(code, str) else None,
        platforms=platforms,
        extra=details if isinstance(details, dict) else {},
    )


def _platform(name: object) -> Platform | None:
    """The Platform LATE names, or None for one postdeck does not post to (or no name)."""
    return Platform(name) if isinstance(name, str) and name in _PLATFORM_NAMES else None


def json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def media_type(url: str) -> str:
    """LATE's mediaItems[].type, from the URL's extension (image unless it says otherwise)."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in _VIDEO_SUFFIXES:
        return "video"
    if suffix == ".gif":
        return "gif"
    if suffix == ".pdf":
        return "document"
    return "image"


def platform_specific_data(target: Target) -> dict[str, Any]:
    """postdeck's per-platform options in LATE's `platformSpecificData` vocabulary."""
    options, data = target.options, {}
    match target.platform:
        case Platform.YOUTUBE:
            if options.get("title"):
                data["title"] = options["title"]
            if options.get("privacy"):
                data["visibility"] = str(options["privacy"]).lower()
        case Platform.TIKTOK:
            if options.get("privacy"):
                privacy = str(options["privacy"])
                data["privacyLevel"] = _TIKTOK_PRIVACY.get(privacy.lower(), privacy)
        case Platform.PINTEREST:
            if options.get("board"):
                data["boardId"] = str(options["board"])
            if options.get("title"):
                data["title"] = options["title"]
            if options.get("link"):
                data["link"] = options["link"]
        case Platform.FACEBOOK:
            if options.get("page"):
                data["pageId"] = str(options["page"])
            if str(options.get("placement", "")).lower() in ("story", "stories"):
                data["contentType"] = "story"
            elif str(options.get("placement", "")).lower() in ("reel", "reels"):
                data["contentType"] = "reel"
        case Platform.LINKEDIN:
            if options.get("organization"):
                org = str(options["organization"])
                data["organizationUrn"] = org if org.startswith("urn:") else f"urn:li:organization:{org}"
        case Platform.INSTAGRAM:
            if str(options.get("placement", "")).lower() in ("story", "stories"):
                data["contentType"] = "story"
    if options.get("first_comment") and target.platform in FIRST_COMMENT_PLATFORMS:
        data["firstComment"] = options["first_comment"]
    return data


def thread_items(target: Target, media_urls: tuple[str, ...]) -> list[dict[str, Any]]:
    """`threadItems`: the whole thread, the caption (with the post's media) first. With threadItems
    LATE publishes these and uses `content` only for display [ZSPEC TwitterPlatformData]."""
    posts = [(target.caption, media_urls), *((p.caption, p.media_urls) for p in target.thread)]
    items = []
    for caption, urls in posts:
        item: dict[str, Any] = {"content": caption}
        if urls:
            item["mediaItems"] = [{"type": media_type(url), "url": url} for url in urls]
        items.append(item)
    return items


def post_body(request: PostRequest) -> dict[str, Any]:
    """The createPost body. Always says what it wants: with none of scheduledFor, publishNow and
    isDraft, LATE silently makes a draft."""
    platforms = []
    for target in request.targets:
        entry: dict[str, Any] = {"platform": str(target.platform), "accountId": target.account_id}
        if target.caption != request.caption:
            entry["customContent"] = target.caption
        specific = platform_specific_data(target)
        if target.thread:
            if target.platform not in THREAD_PLATFORMS:
                raise ValueError(
                    f"LATE cannot publish a thread on {target.platform}"
                )  # routing keeps it away
            specific["threadItems"] = thread_items(target, request.media_urls)
        if specific:
            entry["platformSpecificData"] = specific
        platforms.append(entry)
    body: dict[str, Any] = {
        "content": request.caption,
        "platforms": platforms,
        "metadata": {POST_KEY_FIELD: request.post_key},
    }
    if request.media_urls:
        body["mediaItems"] = [{"type": media_type(url), "url": url} for url in request.media_urls]
    if request.scheduled_at is not None:
        if request.scheduled_at.utcoffset() is None:
            raise ValueError("PostRequest.scheduled_at must be timezone-aware")
        body["scheduledFor"] = request.scheduled_at.isoformat()  # explicit offset, never naive
    if request.draft:
        body["isDraft"] = True
    elif request.scheduled_at is None:
        body["publishNow"] = True
    return body


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def created_at(post: dict[str, Any]) -> datetime | None:
    """When LATE stored the post (its `createdAt`), if it says so readably."""
    return _parse_time(post.get("createdAt"))


def _account_id(value: Any) -> str:
    """platforms[].accountId is a plain id or a populated account object."""
    if isinstance(value, dict):
        return str(value.get("_id", ""))
    return str(value or "")


def _caption_of(post: dict[str, Any], target: dict[str, Any]) -> str | None:
    """The words a stored post holds for one target: the first of its thread (what LATE publishes),
    else its customContent, else the post's content."""
    specific = target.get("platformSpecificData")
    items = specific.get("threadItems") if isinstance(specific, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        first = items[0].get("content")
        if isinstance(first, str):
            return first
    for value in (target.get("customContent"), post.get("content")):
        if isinstance(value, str) and value:
            return value
    return None


def parse_outcome(post: dict[str, Any]) -> PostOutcome:
    """A LATE post (create/get/list reply) as postdeck's PostOutcome; unknown fields are ignored."""
    post_status = post.get("status")
    scheduled_at = _parse_time(post.get("scheduledFor"))
    # `pending` means "waiting for its time" only on a scheduled post; LATE also stamps immediate
    # posts with a scheduledFor, so the post status, not the field, tells the two apart.
    waiting = post_status == "scheduled" or (not post_status and scheduled_at is not None)
    results = []
    for target in post.get("platforms") or []:
        if not isinstance(target, dict):
            continue
        platform = _platform(target.get("platform"))
        if platform is None:
            continue  # a platform postdeck does not post to
        raw = target.get("status")
        error, portable = None, False
        if raw == "published":
            status = TargetStatus.POSTED
        elif raw == "failed":
            status = TargetStatus.FAILED
            error = target.get("errorMessage") or "failed at LATE"
            portable = portable_target_failure(target.get("errorCategory"), error)
        elif raw == "cancelled":
            status, error = TargetStatus.FAILED, "removed from the platform (cancelled at LATE)"
        elif post_status == "draft":
            # Never created by postdeck on purpose: a draft will not publish by itself.
            status, error = TargetStatus.FAILED, "the post is a draft at LATE and will not publish"
        elif raw == "pending" and waiting:
            status = TargetStatus.SCHEDULED
        else:  # pending on an immediate post, publishing, processing, uploading: ask again later
            status = TargetStatus.PENDING
        results.append(
            TargetResult(
                platform=platform,
                account_id=_account_id(target.get("accountId")),
                status=status,
                platform_post_id=target.get("platformPostId") or None,
                url=target.get("platformPostUrl") or None,
                error=error,
                portable=portable,
                caption=_caption_of(post, target),
            )
        )
    metadata = post.get("metadata")
    key = metadata.get(POST_KEY_FIELD) if isinstance(metadata, dict) else None
    return PostOutcome(
        provider=PROVIDER,
        provider_post_id=str(post.get("_id", "")),
        results=tuple(results),
        scheduled_at=scheduled_at,
        post_key=key if isinstance(key, str) else None,
        status=post_status if isinstance(post_status, str) else None,
        raw=without_tokens(post),
    )


def parse_account(raw: dict[str, Any]) -> Account | None:
    """One /v1/accounts entry, or None for a platform postdeck does not post to."""
    platform = _platform(raw.get("platform"))
    if platform is None:
        return None
    # isActive false = disconnected; needsReconnection = token dead; enabled false = not for posting.
    connected = not (
        raw.get("isActive") is False or raw.get("needsReconnection") or raw.get("enabled") is False
    )
    profile = raw.get("profileId")
    profile_id = profile.get("_id") if isinstance(profile, dict) else profile
    return Account(
        provider=PROVIDER,
        id=str(raw["_id"]),
        platform=platform,
        username=str(raw.get("username") or raw.get("displayName") or ""),
        connected=connected,
        profile_id=str(profile_id) if profile_id else None,
    )
