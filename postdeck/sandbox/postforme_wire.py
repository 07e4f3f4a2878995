"""Post for Me wire details the simulator reproduces: constants, NestJS error bodies, the
`validatePost` rules word for word (localhost and IP media URLs included) and the shapes of
accounts, media and published results (reference §1, §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse

from postdeck.sandbox.common import digits, nanoid, parse_timestamp

DEFAULT_API_KEY = "sandbox-postforme-key"
PLATFORMS = ("bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "tiktok", "x", "youtube")
ALL_PLATFORMS = (*PLATFORMS, "tiktok_business")
DELETABLE = ("scheduled", "draft")
MAX_UPLOAD_BYTES = 150 * 1024 * 1024  # the bucket limit in the vendor's Supabase config
STATE_VERSION = 1
# What the worker records when it cannot publish (the real messages vary by platform; these carry the
# words that tell an account problem from a content refusal).
ACCOUNT_ERROR = "{platform}: access token expired or revoked, please reconnect the social account"
CONTENT_ERROR = "{platform}: the platform refused the post (simulated failure)"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: float  # seconds
    name: str


# Unkey limits on dashboard-made keys. Off by default: tests and demos make bursts of calls.
REAL_RATE_LIMITS = (RateLimit(5, 1.0, "per_second_use"), RateLimit(40, 60.0, "per_minute_use"))


class NestError(Exception):
    """An HTTP error answered with a NestJS-shaped JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def http(cls, status: int, message: str) -> NestError:
        """`throw new HttpException(message, status)`."""
        return cls(status, {"statusCode": status, "message": message})

    @classmethod
    def standard(cls, status: int, message: str | list[str], error: str) -> NestError:
        """Nest's built-in exceptions (UnauthorizedException, ValidationPipe, NotFound)."""
        return cls(status, {"message": message, "error": error, "statusCode": status})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def internal_error() -> NestError:
    return NestError.http(500, "Internal Server Error")


# --- validation (social-posts.service.ts#validatePost) -------------------------------------------

_IPV4 = re.compile(
    r"^(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\."
    r"(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$"
)
# The vendor's IPv6 test; it also matches hex-only host names such as "cafe" (a real quirk).
_IPV6 = re.compile(r"^\[?([0-9a-fA-F:]+)\]?$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)$", re.DOTALL)


def _js_hostname(rest: str) -> str | None:
    """The `hostname` JavaScript's URL gives for `//host...` (brackets kept for IPv6), or None."""
    if not rest.startswith("//"):
        return None
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):
        end = authority.find("]")
        return authority[: end + 1].lower() if end > 0 else None
    host = authority.split(":", 1)[0].lower()
    return host or None


def media_url_errors(url: Any) -> list[str]:
    """validateMediaUrl: at most one message per URL, in the vendor's order and words."""
    text = "undefined" if url is None else str(url)
    match = _SCHEME.match(text.strip()) if isinstance(url, str) else None
    if match is None:
        return [f"invalid media URL: {text}"]
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme not in ("http", "https"):
        return [f"media URL must use http or https protocol: {text}"]
    hostname = _js_hostname(rest)
    if hostname is None:
        return [f"invalid media URL: {text}"]
    if hostname in ("localhost", "127.0.0.1", "::1") or hostname.endswith(".localhost"):
        return [f"media URL cannot point to localhost: {text}"]
    if _IPV4.match(hostname) or _IPV6.match(hostname):
        return [f"media URL cannot use IP addresses: {text}"]
    return []


def js_falsy(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | int | float) and not value)


def media_errors(items: Any, prefix: str = "") -> list[str]:
    errors: list[str] = []
    for item in items if isinstance(items, list) else []:
        item = item if isinstance(item, dict) else {}
        errors += [prefix + e for e in media_url_errors(item.get("url"))]
        if item.get("thumbnail_url"):
            errors += [prefix + e for e in media_url_errors(item["thumbnail_url"])]
    return errors


def to_datetime(value: Any) -> datetime | None:
    """class-transformer's `@Type(() => Date)`: None if the value makes an Invalid Date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)  # epoch milliseconds, as new Date(n)
    try:
        return parse_timestamp(str(value))
    except ValueError:
        return None


def whole_minutes(delta: timedelta) -> int:
    """date-fns differenceInMinutes: truncated toward zero, so -59 s counts as 0 (not past)."""
    return int(delta.total_seconds() / 60)


# --- wire shapes ------------------------------------------------------------------------------

USERNAMES = {"bluesky": "postdeck-sandbox.bsky.social"}
CONNECTION_TYPES = {"x": "oauth2", "instagram": "instagram", "linkedin": "personal"}
AUTHORIZE_URLS = {
    "facebook": "https://www.facebook.com/v23.0/dialog/oauth",
    "instagram": "https://www.instagram.com/oauth/authorize",
    "tiktok": "https://www.tiktok.com/v2/auth/authorize/",
    "tiktok_business": "https://www.tiktok.com/v2/auth/authorize/",
    "pinterest": "https://www.pinterest.com/oauth/",
    "linkedin": "https://www.linkedin.com/oauth/v2/authorization",
    "threads": "https://threads.net/oauth/authorize",
    "youtube": "https://accounts.google.com/o/oauth2/v2/auth",
    "x": "https://x.com/i/oauth2/authorize",
}
PLATFORM_LABELS = {"x": "X", "tiktok": "TikTok", "tiktok_business": "TikTok Business", "youtube": "YouTube"}


def platform_data(platform: str, username: str) -> dict[str, str]:
    """A published post's `platform_data` with the permalink shape each worker builds."""
    if platform == "x":
        post_id = digits(19)
        return {"id": post_id, "url": f"https://twitter.com/user/status/{post_id}"}
    if platform == "bluesky":
        rkey = nanoid(13).lower()
        did = "did:plc:" + nanoid(24).lower()
        return {
            "id": f"at://{did}/app.bsky.feed.post/{rkey}",
            "url": f"https://bsky.app/profile/{username}/post/{rkey}",
        }
    if platform == "linkedin":
        urn = f"urn:li:share:{digits(19)}"
        return {"id": urn, "url": f"https://www.linkedin.com/feed/update/{urn}"}
    if platform == "youtube":
        video_id = nanoid(11)
        return {"id": video_id, "url": f"https://www.youtube.com/watch?v={video_id}"}
    if platform == "pinterest":
        pin_id = digits(18)
        return {"id": pin_id, "url": f"https://pinterest.com/pin/{pin_id}"}
    if platform in ("tiktok", "tiktok_business"):
        return {"id": f"v_pub_url~v2-1.{digits(19)}", "url": f"https://www.tiktok.com/@{username}"}
    if platform == "instagram":
        return {"id": digits(17), "url": f"https://www.instagram.com/p/{nanoid(11)}/"}
    if platform == "threads":
        return {"id": digits(17), "url": f"https://www.threads.net/@{username}/post/{nanoid(11)}"}
    page_id, post_id = digits(15), digits(16)  # facebook: a page post permalink
    return {"id": f"{page_id}_{post_id}", "url": f"https://www.facebook.com/{page_id}/posts/{post_id}"}


def media_item(item: Any) -> dict[str, Any]:
    item = item if isinstance(item, dict) else {}
    return {
        "url": item.get("url"),
        "thumbnail_url": item.get("thumbnail_url"),
        "thumbnail_timestamp_ms": item.get("thumbnail_timestamp_ms"),
        "tags": item.get("tags"),
        "skip_processing": item.get("skip_processing"),
    }
