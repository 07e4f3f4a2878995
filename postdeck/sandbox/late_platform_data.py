"""The LATE simulator's reading of `platforms[].platformSpecificData` fields postdeck sends beyond the
options: `threadItems` (X, Threads, Bluesky) and `firstComment` (Facebook, Instagram, LinkedIn,
YouTube; Threads too, per the vendor SDK). Shapes are late-sdk's models (`ThreadItem {content,
mediaItems}`, `firstComment: str`, YouTube's at most 10,000 characters, Threads' 500)."""

from __future__ import annotations

from typing import Any

THREAD_PLATFORMS = frozenset({"twitter", "threads", "bluesky"})
FIRST_COMMENT_PLATFORMS = frozenset({"facebook", "instagram", "linkedin", "youtube", "threads"})
FIRST_COMMENT_MAX = {"youtube": 10_000, "threads": 500}


def platform_data_problem(target: dict[str, Any], media_types: frozenset[str]) -> str | None:
    """The 400 message for a malformed threadItems or firstComment, or None."""
    data = target.get("platformSpecificData") or {}
    platform = target.get("platform")
    items = data.get("threadItems")
    if items is not None:
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return "threadItems must be an array of objects"
        for item in items:
            if not isinstance(item.get("content", ""), str):
                return "threadItems[].content must be a string"
            media = item.get("mediaItems") or []
            if not isinstance(media, list):
                return "threadItems[].mediaItems must be an array"
            for entry in media:
                if not isinstance(entry, dict) or entry.get("type") not in media_types:
                    return "Each media item needs a type: image, video, gif or document"
                if not isinstance(entry.get("url"), str) or not entry["url"].startswith("https://"):
                    return "Media URLs must be public HTTPS URLs"
            if not item.get("content") and not media:
                return "Each thread item needs content or media"
    comment = data.get("firstComment")
    if comment is not None:
        if not isinstance(comment, str):
            return "firstComment must be a string"
        limit = FIRST_COMMENT_MAX.get(str(platform))
        if limit is not None and len(comment) > limit:
            return f"firstComment must be at most {limit} characters"
    return None


def published_extras(target: dict[str, Any]) -> dict[str, Any]:
    """What a published target carried beyond its post, as the platform shows it: the thread's posts
    (the root first) and the first comment. Fields the platform does not take are not published."""
    data = target.get("platformSpecificData") or {}
    extras: dict[str, Any] = {}
    if target.get("platform") in THREAD_PLATFORMS and data.get("threadItems"):
        extras["thread"] = [item.get("content", "") for item in data["threadItems"]]
    if target.get("platform") in FIRST_COMMENT_PLATFORMS and data.get("firstComment"):
        extras["first_comment"] = data["firstComment"]
    return extras
