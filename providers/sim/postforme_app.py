"""A Post for Me (api.postforme.dev) simulator that speaks the vendor's wire format.

Modelled on the open-source server (DayMoonDevelopment/post-for-me, see
shared/reference/providers.md §1 and §4): NestJS error bodies, 201 on every POST, the
`validatePost` messages word for word (localhost and IP media URLs included), the
draft/scheduled/processing → processed status machine with results only for processed posts,
`{data, meta}` pagination counted the vendor's way, and the Supabase signed-upload PUT.

`PostForMeSim` is the state (thread-safe, optionally persisted to JSON); `create_app(sim)` is the
Starlette app. Admin endpoints live under `/_sim/` and need no key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from postdeck.providers.sim.common import (
    digits,
    hex_id,
    js_iso,
    nanoid,
    parse_timestamp,
    pg_timestamp,
    read_json,
    utc_now,
    write_json_atomic,
)

DEFAULT_API_KEY = "sandbox-postforme-key"
PLATFORMS = ("bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "tiktok", "x", "youtube")
ALL_PLATFORMS = (*PLATFORMS, "tiktok_business")
DELETABLE = ("scheduled", "draft")
MAX_UPLOAD_BYTES = 150 * 1024 * 1024  # the bucket limit in the vendor's Supabase config
STATE_VERSION = 1


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


def _js_falsy(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | int | float) and not value)


def _media_errors(items: Any, prefix: str = "") -> list[str]:
    errors: list[str] = []
    for item in items if isinstance(items, list) else []:
        item = item if isinstance(item, dict) else {}
        errors += [prefix + e for e in media_url_errors(item.get("url"))]
        if item.get("thumbnail_url"):
            errors += [prefix + e for e in media_url_errors(item["thumbnail_url"])]
    return errors


def _to_datetime(value: Any) -> datetime | None:
    """class-transformer's `@Type(() => Date)`: None if the value makes an Invalid Date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)  # epoch milliseconds, as new Date(n)
    try:
        return parse_timestamp(str(value))
    except ValueError:
        return None


def _whole_minutes(delta: timedelta) -> int:
    """date-fns differenceInMinutes: truncated toward zero, so -59 s counts as 0 (not past)."""
    return int(delta.total_seconds() / 60)


# --- wire shapes ------------------------------------------------------------------------------

_USERNAMES = {"bluesky": "postdeck-sandbox.bsky.social"}
_CONNECTION_TYPES = {"x": "oauth2", "instagram": "instagram", "linkedin": "personal"}
_AUTHORIZE_URLS = {
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
_PLATFORM_LABELS = {"x": "X", "tiktok": "TikTok", "tiktok_business": "TikTok Business", "youtube": "YouTube"}


def _platform_data(platform: str, username: str) -> dict[str, str]:
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


def _media_item(item: Any) -> dict[str, Any]:
    item = item if isinstance(item, dict) else {}
    return {
        "url": item.get("url"),
        "thumbnail_url": item.get("thumbnail_url"),
        "thumbnail_timestamp_ms": item.get("thumbnail_timestamp_ms"),
        "tags": item.get("tags"),
        "skip_processing": item.get("skip_processing"),
    }


# --- the state ----------------------------------------------------------------------------------


class PostForMeSim:
    """Everything the simulated Post for Me project holds, behind one lock.

    Counters: `create_calls` counts every authorised POST /v1/social-posts (valid or not);
    `creates_by_external_id` counts the posts actually stored per external_id.
    Fault knobs: `fail_platforms` (results fail for these platforms), `fail_after_store` (the next N
    creates store the post, then answer 500 as the real controller can), `response_delay` (seconds
    to hold every /v1 answer after the work is done), `rate_limits` (429s, see REAL_RATE_LIMITS).
    """

    def __init__(
        self,
        *,
        api_keys: set[str] | None = None,
        state_path: Path | None = None,
        media_host: str = "data.postforme.dev",
        upload_base: str | None = None,
        clock: Callable[[], datetime] | None = None,
        process_delay: float = 0.0,
        tick_interval: float | None = None,
        response_delay: float = 0.0,
        rate_limits: tuple[RateLimit, ...] = (),
        quickstart: bool = False,
    ) -> None:
        self.api_keys: set[str] = set(api_keys) if api_keys is not None else {DEFAULT_API_KEY}
        self.state_path = state_path
        self.media_host = media_host
        self.upload_base = upload_base  # this server's own URL, for upload_url (set after start)
        self._clock = clock or utc_now
        self.process_delay = process_delay  # seconds before an immediate post is processed
        self.tick_interval = tick_interval  # seconds between automatic ticks (the cron); None = manual
        self.response_delay = response_delay
        self.rate_limits = rate_limits
        self.quickstart = quickstart  # system credentials: redirect_url_override is refused
        self.auth_callback_url: str | None = None  # the project's redirect URL (dashboard setting)
        self.fail_platforms: set[str] = set()
        self.fail_after_store = 0
        self._lock = threading.RLock()
        self._hits: dict[str, deque[float]] = {}
        self._blobs: dict[str, bytes] = {}  # uploads, when not persisted
        self._seq = 0
        self.project_id = "proj_" + nanoid()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.results: dict[str, list[dict[str, Any]]] = {}  # by post id
        self.uploads: dict[str, dict[str, Any]] = {}  # by storage key
        self.pending_auth: dict[str, dict[str, Any]] = {}  # by OAuth state
        self.create_calls = 0
        self.creates_by_external_id: dict[str, int] = {}
        self._last_tick = self.now()
        if not self._load():
            for platform in PLATFORMS:
                self.add_account(platform)

    # --- clock, persistence ----------------------------------------------------------------

    def now(self) -> datetime:
        """The simulator's clock (aware UTC). Replace with `sim.now = lambda: ...` or `clock=`."""
        return self._clock()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _load(self) -> bool:
        data = read_json(self.state_path) if self.state_path else None
        if not data or data.get("version") != STATE_VERSION:
            return False
        self.project_id = data["project_id"]
        self.accounts, self.posts, self.results = data["accounts"], data["posts"], data["results"]
        self.uploads, self.pending_auth = data["uploads"], data["pending_auth"]
        self.create_calls = data["create_calls"]
        self.creates_by_external_id = data["creates_by_external_id"]
        self._seq = data["seq"]
        return True

    def _save(self) -> None:
        if self.state_path is None:
            return
        write_json_atomic(
            self.state_path,
            {
                "version": STATE_VERSION,
                "project_id": self.project_id,
                "accounts": self.accounts,
                "posts": self.posts,
                "results": self.results,
                "uploads": self.uploads,
                "pending_auth": self.pending_auth,
                "create_calls": self.create_calls,
                "creates_by_external_id": self.creates_by_external_id,
                "seq": self._seq,
            },
        )

    def _blob_path(self, key: str) -> Path | None:
        if self.state_path is None:
            return None
        return self.state_path.with_name(self.state_path.stem + "-media") / key.replace("/", "__")

    # --- auth and rate limits --------------------------------------------------------------

    def authorize(self, header: str | None) -> str:
        """AuthGuard: the key of a valid `Bearer <key>` header, else a Nest 401."""
        parts = header.split(" ") if header and header.startswith("Bearer ") else []
        if len(parts) != 2:
            raise NestError.standard(401, "Authorization token not found.", "Unauthorized")
        if parts[1] not in self.api_keys:
            raise NestError.standard(401, "Invalid or expired token", "Unauthorized")
        self._check_rate(parts[1])
        return parts[1]

    def _check_rate(self, key: str) -> None:
        if not self.rate_limits:
            return
        with self._lock:
            now = time.monotonic()
            hits = self._hits.setdefault(key, deque())
            longest = max(limit.window for limit in self.rate_limits)
            while hits and now - hits[0] >= longest:
                hits.popleft()
            for limit in self.rate_limits:
                recent = [t for t in hits if now - t < limit.window]
                if len(recent) >= limit.limit:
                    wait = str(max(1, math.ceil(limit.window - (now - recent[0]))))
                    headers = {
                        "Retry-After": wait,
                        "X-Rate-Limit-Limit": str(limit.limit),
                        "X-Rate-Limit-Remaining": "0",
                        "X-Rate-Limit-Reset": wait,  # seconds until reset, not an epoch
                        "X-Rate-Limit-Name": limit.name,
                        "X-Rate-Limit-Duration": str(int(limit.window)),
                    }
                    body = {"statusCode": 429, "message": "Too many requests, please try again later"}
                    raise NestError(429, body, headers)
            hits.append(now)

    # --- accounts --------------------------------------------------------------------------

    def add_account(
        self,
        platform: str,
        *,
        username: str | None = None,
        connected: bool = True,
        external_id: str | None = None,
    ) -> dict[str, Any]:
        """Connect one more account (a test or sandbox helper; the real thing goes through OAuth)."""
        with self._lock:
            now = self.now()
            account = {
                "id": "spc_" + nanoid(),
                "platform": platform,
                "username": username or _USERNAMES.get(platform, "postdeck_sandbox"),
                "user_id": ("did:plc:" + nanoid(24).lower()) if platform == "bluesky" else digits(18),
                "profile_photo_url": None,
                "external_id": external_id,
                "metadata": {"connection_type": _CONNECTION_TYPES[platform]}
                if platform in _CONNECTION_TYPES
                else {},
                "created_at": pg_timestamp(now),
                "seq": self._next_seq(),
            }
            self._set_tokens(account, connected)
            self.accounts[account["id"]] = account
            self._save()
            return account

    def _set_tokens(self, account: dict[str, Any], connected: bool) -> None:
        now = self.now()
        account["access_token"] = "simat_" + nanoid(40) if connected else None
        account["refresh_token"] = "simrt_" + nanoid(40) if connected else None
        account["access_token_expires_at"] = pg_timestamp(now + timedelta(days=60)) if connected else None
        account["refresh_token_expires_at"] = pg_timestamp(now + timedelta(days=365)) if connected else None

    def account_for(self, platform: str) -> dict[str, Any]:
        """The first account of a platform (the default one)."""
        return min((a for a in self.accounts.values() if a["platform"] == platform), key=lambda a: a["seq"])

    def render_account(self, account: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": account["id"],
            "platform": account["platform"],
            "username": account["username"] or "",
            "user_id": account["user_id"] or "",
            "profile_photo_url": account["profile_photo_url"],
            "status": "connected" if account["access_token"] else "disconnected",
            "external_id": account["external_id"],
            "access_token": account["access_token"] or "",
            "refresh_token": account["refresh_token"] or "",
            # The server falls back to "now" when the column is null, so it is never null.
            "access_token_expires_at": account["access_token_expires_at"] or pg_timestamp(self.now()),
            "refresh_token_expires_at": account["refresh_token_expires_at"],
            "metadata": account["metadata"],
        }

    def list_accounts(self, query: dict[str, list[str]], offset: int, limit: int) -> tuple[list[dict], int]:
        with self._lock:
            found = sorted(self.accounts.values(), key=lambda a: (a["created_at"], a["seq"]), reverse=True)
            for field, column in (("platform", "platform"), ("username", "username"), ("id", "id")):
                if query.get(field):
                    found = [a for a in found if a[column] in query[field]]
            if query.get("external_id"):
                found = [a for a in found if a["external_id"] in query["external_id"]]
            statuses = set(query.get("status", []))
            if statuses == {"connected"}:
                found = [a for a in found if a["access_token"]]
            elif statuses == {"disconnected"}:
                found = [a for a in found if not a["access_token"]]
            return [self.render_account(a) for a in found[offset : offset + limit]], len(found)

    def get_account(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            account = self.accounts.get(account_id)
            if account is None:
                raise NestError.http(404, "Social account not found")
            return self.render_account(account)

    def disconnect_account(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            account = self.accounts.get(account_id)
            if account is None:
                raise NestError.http(404, "Social account not found")
            self._set_tokens(account, connected=False)
            self._save()
            return self.render_account(account)

    def auth_url(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        """POST /social-accounts/auth-url: `{url, platform}`; the sim's callback completes it."""
        body = body if isinstance(body, dict) else {}
        platform = body.get("platform")
        permissions = body.get("permissions")
        if isinstance(permissions, list) and any(p not in ("posts", "feeds") for p in permissions):
            message = ["each value in permissions must be one of the following values: posts, feeds"]
            raise NestError.standard(400, message, "Bad Request")
        redirect = body.get("redirect_url_override")
        if redirect and self.quickstart:
            raise NestError.http(
                400,
                "Redirect URL Override is not allowed for Quickstart Projects, please set the Project "
                "Redirect URL using the dashboard instead.",
            )
        if platform not in ALL_PLATFORMS:
            label = _PLATFORM_LABELS.get(str(platform), str(platform).capitalize())
            raise NestError.http(
                404,
                f"Social provider app credentials not found for {label}. Please set up or enable this "
                "platform in Project Setup.",
            )
        platform_data = body.get("platform_data") if isinstance(body.get("platform_data"), dict) else {}
        if platform == "bluesky" and not isinstance(platform_data.get("bluesky"), dict):
            return {"url": "", "platform": platform}  # no handle/app password: the server answers ""
        with self._lock:
            state = nanoid(32)
            self.pending_auth[state] = {
                "platform": platform,
                "external_id": body.get("external_id"),
                "redirect": redirect or self.auth_callback_url,
            }
            self._save()
        callback = f"{base}/_sim/oauth/callback/{platform}"
        if platform == "bluesky":
            handle = platform_data["bluesky"].get("handle", "")
            return {
                "url": f"{callback}?{urlencode({'handle': handle, 'state': state})}",
                "platform": platform,
            }
        params = {"client_id": "sim-app", "redirect_uri": callback, "response_type": "code", "state": state}
        return {"url": f"{_AUTHORIZE_URLS[platform]}?{urlencode(params)}", "platform": platform}

    def complete_auth(
        self, platform: str, state: str, handle: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The OAuth return trip: (re)connect the platform's account; say where to send the browser."""
        with self._lock:
            pending = self.pending_auth.pop(state, None)
            if pending is None or pending["platform"] != platform:
                raise NestError.http(400, "Invalid or expired state")
            existing = [a for a in self.accounts.values() if a["platform"] == platform]
            account = self.account_for(platform) if existing else self.add_account(platform, username=handle)
            self._set_tokens(account, connected=True)
            if pending["external_id"]:
                account["external_id"] = pending["external_id"]
            self._save()
            return account, pending["redirect"]

    # --- media -----------------------------------------------------------------------------

    def create_upload(self, base: str) -> dict[str, str]:
        with self._lock:
            key = f"{self.project_id}/{hex_id(24)}"
            token = "simjwt." + nanoid(48)
            self.uploads[key] = {"token": token, "content_type": None, "size": None, "sha256": None}
            self._save()
        return {
            "upload_url": f"{base}/storage/v1/object/upload/sign/post-media/{key}?token={token}",
            "media_url": f"https://{self.media_host}/storage/v1/object/public/post-media/{key}",
        }

    def put_upload(self, key: str, token: str | None, data: bytes, content_type: str) -> dict[str, str]:
        """Supabase Storage's signed upload: one PUT per signed URL, image/video/text only."""
        with self._lock:
            upload = self.uploads.get(key)
            if upload is None or token != upload["token"]:
                raise NestError(
                    400, {"statusCode": "403", "error": "Unauthorized", "message": "invalid signature"}
                )
            if upload["size"] is not None:
                body = {"statusCode": "409", "error": "Duplicate", "message": "The resource already exists"}
                raise NestError(400, body)
            mime = content_type.split(";", 1)[0].strip().lower()
            if not (mime.startswith(("image/", "video/")) or mime == "text/plain"):
                body = {
                    "statusCode": "415",
                    "error": "invalid_mime_type",
                    "message": f"mime type {mime} is not supported",
                }
                raise NestError(415, body)
            if len(data) > MAX_UPLOAD_BYTES:
                body = {
                    "statusCode": "413",
                    "error": "Payload too large",
                    "message": "The object exceeded the maximum allowed size",
                }
                raise NestError(413, body)
            upload.update(content_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest())
            path = self._blob_path(key)
            if path is None:
                self._blobs[key] = data
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            self._save()
        return {"Key": f"post-media/{key}"}

    def media_bytes(self, url_or_key: str) -> bytes | None:
        """The bytes uploaded for a media URL (or storage key), or None."""
        key = url_or_key.split("/post-media/", 1)[-1].split("?", 1)[0]
        with self._lock:
            if key in self._blobs:
                return self._blobs[key]
            path = self._blob_path(key)
            return path.read_bytes() if path is not None and path.exists() else None

    # --- posts -----------------------------------------------------------------------------

    def _validate(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["please provide a request body"]
        errors: list[str] = []
        if _js_falsy(body.get("caption")):
            errors.append("caption is required")
        accounts = body.get("social_accounts")
        if _js_falsy(accounts):
            errors.append("at least one social_account is required")
        elif not isinstance(accounts, list) or len(
            {a for a in accounts if isinstance(a, str) and a in self.accounts}
        ) != len(accounts):
            errors.append("invalid social accounts, not owned by user")
        scheduled = body.get("scheduled_at")
        if scheduled is not None:
            moment = _to_datetime(scheduled)
            if moment is not None and _whole_minutes(moment - self.now()) < 0:
                errors.append("scheduled_at must be in the future")
        errors += _media_errors(body.get("media"))
        configs = body.get("platform_configurations")
        for platform, config in (configs if isinstance(configs, dict) else {}).items():
            if isinstance(config, dict):
                errors += _media_errors(config.get("media"), f"{platform}: ")
        for config in body.get("account_configurations") or []:
            if isinstance(config, dict) and isinstance(config.get("configuration"), dict):
                prefix = f"account {config.get('social_account_id')}: "
                errors += _media_errors(config["configuration"].get("media"), prefix)
        return errors

    def _store(self, body: dict[str, Any], post_id: str | None = None) -> dict[str, Any]:
        """createPost: the row, its accounts, media and configurations (validation already passed)."""
        now = self.now()
        scheduled_raw = body.get("scheduled_at")
        scheduled = _to_datetime(scheduled_raw) if scheduled_raw is not None else None
        if scheduled_raw is not None and scheduled is None:
            raise internal_error()  # Invalid Date.toISOString() throws before anything is written
        status = "draft" if body.get("isDraft") else "scheduled" if scheduled else "processing"
        # post_at goes through toISOString (milliseconds) or takes the column default now().
        post_at = parse_timestamp(js_iso(scheduled)) if scheduled else now
        post = {
            "id": post_id or "sp_" + nanoid(),
            "external_id": body.get("external_id"),
            "caption": body["caption"] if isinstance(body["caption"], str) else json.dumps(body["caption"]),
            "status": status,
            "scheduled_at": pg_timestamp(post_at),
            "media": [_media_item(m) for m in body.get("media") or [] if isinstance(m, dict)],
            "platform_configurations": body.get("platform_configurations") or {},
            "account_configurations": body.get("account_configurations") or [],
            "social_account_ids": list(body["social_accounts"]),
            "created_at": pg_timestamp(now),
            "updated_at": pg_timestamp(now),
            "process_at": pg_timestamp(now + timedelta(seconds=self.process_delay)),
            "seq": self._next_seq(),
        }
        self.posts[post["id"]] = post
        return post

    def create_post(self, body: Any) -> dict[str, Any]:
        with self._lock:
            self.create_calls += 1
            try:
                errors = self._validate(body)
                if errors:
                    raise NestError(400, {"statusCode": 400, "message": "Invalid Request", "errors": errors})
                post = self._store(body)
                if post["external_id"] is not None:
                    key = str(post["external_id"])
                    self.creates_by_external_id[key] = self.creates_by_external_id.get(key, 0) + 1
            finally:
                self._save()  # the counters move even when the create is refused
            if self.fail_after_store > 0:
                self.fail_after_store -= 1
                raise internal_error()  # the real controller can fail after the insert (§1.10)
            return self.render_post(post)

    def update_post(self, post_id: str, body: Any) -> dict[str, Any]:
        """PUT: delete and re-create under the same id (new created_at, no results)."""
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                raise NestError.http(404, "Post not found")
            if post["status"] == "processed":
                raise NestError.http(400, "Post has already been processed")
            errors = self._validate(body)
            if errors:
                raise NestError(400, {"statusCode": 400, "message": "Invalid Request", "errors": errors})
            del self.posts[post_id]
            self.results.pop(post_id, None)
            try:
                return self.render_post(self._store(body, post_id=post_id))
            finally:
                self._save()

    def delete_post(self, post_id: str) -> dict[str, bool]:
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                raise NestError.http(404, "Post not found")
            if post["status"] not in DELETABLE:
                raise NestError.http(400, "Can only delete scheduled or draft posts")
            del self.posts[post_id]
            self.results.pop(post_id, None)
            self._save()
            return {"success": True}

    def get_post(self, post_id: str) -> dict[str, Any]:
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                raise NestError.http(404, "Post not found")
            return self.render_post(post)

    def list_posts(self, query: dict[str, list[str]], offset: int, limit: int) -> tuple[list[dict], int]:
        with self._lock:
            found = self._newest_first(self.posts.values())
            if query.get("external_id"):
                found = [
                    p
                    for p in found
                    if p["external_id"] is not None and str(p["external_id"]) in query["external_id"]
                ]
            if query.get("status"):
                found = [p for p in found if p["status"] in query["status"]]
            keep = self._account_filter(query)
            if keep is not None:
                # PostgREST `!inner` embeds: posts without a matching account drop out, and the
                # ones that stay only list their matching accounts.
                found = [p for p in found if any(keep(a) for a in p["social_account_ids"])]
            page = found[offset : offset + limit]
            return [self.render_post(p, keep) for p in page], len(found)

    def _account_filter(self, query: dict[str, list[str]]) -> Callable[[str], bool] | None:
        platforms, ids = query.get("platform"), query.get("social_account_id")
        if not platforms and not ids:
            return None

        def keep(account_id: str) -> bool:
            account = self.accounts.get(account_id)
            return (
                account is not None
                and (not platforms or account["platform"] in platforms)
                and (not ids or account_id in ids)
            )

        return keep

    @staticmethod
    def _newest_first(items: Any) -> list[dict[str, Any]]:
        return sorted(items, key=lambda p: (parse_timestamp(p["created_at"]), p["seq"]), reverse=True)

    def render_post(self, post: dict[str, Any], keep: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """transformPostData, quirks included (configs show account-level media)."""
        account_media = [
            _media_item(m)
            for config in post["account_configurations"]
            if isinstance(config, dict) and isinstance(config.get("configuration"), dict)
            for m in config["configuration"].get("media") or []
        ]
        platform_configs = {
            platform: {"caption": None, "media": account_media, **config}
            for platform, config in post["platform_configurations"].items()
            if isinstance(config, dict)
        }
        account_configs = [
            {
                "social_account_id": config.get("social_account_id"),
                "configuration": {"caption": None, "media": account_media, **config["configuration"]},
            }
            for config in post["account_configurations"]
            if isinstance(config, dict) and isinstance(config.get("configuration"), dict)
        ]
        accounts = [self.accounts[a] for a in post["social_account_ids"] if a in self.accounts]
        if keep is not None:
            accounts = [a for a in accounts if keep(a["id"])]
        return {
            "id": post["id"],
            "external_id": post["external_id"],
            "caption": post["caption"],
            "status": post["status"],
            "media": post["media"],
            "platform_configurations": platform_configs,
            "account_configurations": account_configs,
            "social_accounts": [self._post_account(a) for a in accounts],
            "scheduled_at": post["scheduled_at"],
            "created_at": post["created_at"],
            "updated_at": post["updated_at"],
        }

    def _post_account(self, account: dict[str, Any]) -> dict[str, Any]:
        rendered = self.render_account(account)
        fields = ("id", "platform", "username", "user_id", "access_token", "refresh_token")
        embedded = {name: rendered[name] for name in fields}
        embedded["username"] = account["username"]
        embedded["refresh_token"] = account["refresh_token"]
        embedded["access_token_expires_at"] = rendered["access_token_expires_at"]
        embedded["refresh_token_expires_at"] = account["refresh_token_expires_at"]
        embedded["external_id"] = account["external_id"]
        # The real transformPostData leaves `status` out, but the official SDK's models require it
        # (strict validation would refuse every post). Added so SDK users work; clients ignore it.
        embedded["status"] = rendered["status"]
        return embedded

    # --- processing ------------------------------------------------------------------------

    def _process(self, post: dict[str, Any]) -> None:
        """The worker: one result per account, then `processed` whatever happened."""
        now = self.now()
        results = []
        for account_id in post["social_account_ids"]:
            account = self.accounts.get(account_id)
            if account is None:
                continue
            platform = account["platform"]
            failed = platform in self.fail_platforms
            results.append(
                {
                    "id": "spr_" + nanoid(),
                    "social_account_id": account_id,
                    "post_id": post["id"],
                    "success": not failed,
                    "error": f"{platform}: the platform refused the post (simulated failure)"
                    if failed
                    else None,
                    "details": {"logs": [f"sandbox: {'failed' if failed else 'published'} on {platform}"]},
                    "platform_data": None if failed else _platform_data(platform, account["username"] or ""),
                    "media": post["media"],
                }
            )
        self.results[post["id"]] = results
        post["status"] = "processed"
        post["updated_at"] = pg_timestamp(now)

    def advance(self) -> None:
        """Run before every API request: finish due immediate posts, and the cron if automatic."""
        with self._lock:
            now = self.now()
            changed = False
            for post in self.posts.values():
                if post["status"] == "processing" and parse_timestamp(post["process_at"]) <= now:
                    self._process(post)
                    changed = True
            if (
                self.tick_interval is not None
                and (now - self._last_tick).total_seconds() >= self.tick_interval
            ):
                self.tick()
            elif changed:
                self._save()

    def tick(self) -> int:
        """One run of the scheduler: every processing post and every due scheduled post is processed."""
        with self._lock:
            now = self.now()
            due = [
                p
                for p in self.posts.values()
                if p["status"] == "processing"
                or (p["status"] == "scheduled" and parse_timestamp(p["scheduled_at"]) <= now)
            ]
            for post in due:
                self._process(post)
            self._last_tick = now
            self._save()
            return len(due)

    # --- results ---------------------------------------------------------------------------

    def list_results(self, query: dict[str, list[str]], offset: int, limit: int) -> tuple[list[dict], int]:
        """Pages count processed *posts*, not result rows (the vendor's quirk)."""
        with self._lock:
            posts = [p for p in self._newest_first(self.posts.values()) if p["status"] == "processed"]
            if query.get("post_id"):
                posts = [p for p in posts if p["id"] in query["post_id"]]
            keep = self._account_filter(query)
            rows = [
                r
                for p in posts[offset : offset + limit]
                for r in self.results.get(p["id"], [])
                if keep is None or keep(r["social_account_id"])
            ]
            return rows, len(posts)

    def get_result(self, result_id: str) -> dict[str, Any]:
        with self._lock:
            for rows in self.results.values():
                for row in rows:
                    if row["id"] == result_id:
                        return row
        raise NestError.http(500, "Internal server error")  # the service throws on a miss

    # --- admin -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_status: dict[str, int] = {}
            for post in self.posts.values():
                by_status[post["status"]] = by_status.get(post["status"], 0) + 1
            return {
                "create_calls": self.create_calls,
                "creates_by_external_id": dict(self.creates_by_external_id),
                "posts": len(self.posts),
                "posts_by_status": by_status,
                "uploads": sum(1 for u in self.uploads.values() if u["size"] is not None),
            }

    def reset(self) -> None:
        """Forget posts, results, uploads, counters and faults; keep the connected accounts."""
        with self._lock:
            for key in list(self.uploads):
                path = self._blob_path(key)
                if path is not None:
                    path.unlink(missing_ok=True)
            self.posts.clear()
            self.results.clear()
            self.uploads.clear()
            self._blobs.clear()
            self.pending_auth.clear()
            self._hits.clear()
            self.create_calls = 0
            self.creates_by_external_id.clear()
            self.fail_platforms.clear()
            self.fail_after_store = 0
            self.response_delay = 0.0
            self._save()

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Fault knobs for another process (POST /_sim/config)."""
        with self._lock:
            if "fail_platforms" in settings:
                self.fail_platforms = set(settings["fail_platforms"])
            for name in ("fail_after_store",):
                if name in settings:
                    setattr(self, name, int(settings[name]))
            for name in ("process_delay", "response_delay"):
                if name in settings:
                    setattr(self, name, float(settings[name]))
            return {
                "fail_platforms": sorted(self.fail_platforms),
                "fail_after_store": self.fail_after_store,
                "process_delay": self.process_delay,
                "response_delay": self.response_delay,
            }


# --- HTTP ---------------------------------------------------------------------------------------


def _values(request: Request, name: str) -> list[str]:
    """A filter as the server reads it: repeated (`?a=1&a=2`, `a[]=`) or comma-joined."""
    raw = request.query_params.getlist(name) + request.query_params.getlist(name + "[]")
    return [part for value in raw for part in value.split(",") if part != ""]


def _page(request: Request) -> tuple[int, int]:
    """BasePaginatedQueryDto: offset ≥ 0 (default 0), 1 ≤ limit ≤ 100 (default 50)."""
    messages: list[str] = []
    values = {}
    for name, default, low, high in (("offset", 0, 0, None), ("limit", 50, 1, 100)):
        raw = request.query_params.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            number = float(raw.strip() or "0")  # Number("") is 0 in JavaScript
        except ValueError:
            number = math.nan
        if high is not None and not number <= high:
            messages.append(f"{name} must not be greater than {high}")
        if not number >= low:
            messages.append(f"{name} must not be less than {low}")
        if not (math.isfinite(number) and number == int(number)):
            messages.append(f"{name} must be an integer number")
        values[name] = int(number) if math.isfinite(number) else default
    if messages:
        raise NestError.standard(400, messages, "Bad Request")
    return values["offset"], values["limit"]


def _paginated(request: Request, data: list[dict], total: int, offset: int, limit: int) -> dict[str, Any]:
    next_url = None
    if offset + limit < total:
        params = {
            k: ",".join(request.query_params.getlist(k))
            for k in request.query_params
            if k not in ("offset", "limit")
        }
        params.update(limit=str(limit), offset=str(offset + limit))
        next_url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(params)}"
    return {"data": data, "meta": {"total": total, "offset": offset, "limit": limit, "next": next_url}}


async def _json_body(request: Request) -> Any:
    """express.json(): JSON bodies parsed, anything else read as `{}`."""
    raw = await request.body()
    if not raw.strip() or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        message = f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}"
        raise NestError.standard(400, message, "Bad Request") from None


def create_app(sim: PostForMeSim) -> Starlette:
    """The Starlette app serving `sim` under /v1 (plus signed uploads and /_sim admin)."""

    def base(request: Request) -> str:
        return (sim.upload_base or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")

    def api(handler: Callable[[Request, Any], Any], status: int = 200) -> Callable:
        async def endpoint(request: Request) -> Response:
            try:
                body = await _json_body(request) if request.method in ("POST", "PUT", "PATCH") else None
                sim.authorize(request.headers.get("authorization"))
                sim.advance()
                response: Response = JSONResponse(handler(request, body), status_code=status)
            except NestError as exc:
                response = exc.response()
            if sim.response_delay > 0:
                await asyncio.sleep(sim.response_delay)  # the work is done; only the answer is late
            return response

        return endpoint

    def list_accounts(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("platform", "username", "external_id", "id", "status")}
        data, total = sim.list_accounts(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def list_posts(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("platform", "status", "external_id", "social_account_id")}
        data, total = sim.list_posts(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def list_results(request: Request, _: Any) -> dict:
        offset, limit = _page(request)
        query = {n: _values(request, n) for n in ("post_id", "platform", "social_account_id")}
        data, total = sim.list_results(query, offset, limit)
        return _paginated(request, data, total, offset, limit)

    def path_id(request: Request) -> str:
        return request.path_params["id"]

    async def put_upload(request: Request) -> Response:
        try:
            data = await request.body()
            content_type = request.headers.get("content-type", "application/octet-stream")
            result = sim.put_upload(
                request.path_params["key"], request.query_params.get("token"), data, content_type
            )
            return JSONResponse(result)
        except NestError as exc:
            return exc.response()

    async def public_media(request: Request) -> Response:
        data = sim.media_bytes(request.path_params["key"])
        if data is None:
            return JSONResponse(
                {"statusCode": "404", "error": "not_found", "message": "Object not found"}, 400
            )
        upload = sim.uploads.get(request.path_params["key"], {})
        return Response(data, media_type=upload.get("content_type") or "application/octet-stream")

    async def oauth_callback(request: Request) -> Response:
        platform = request.path_params["platform"]
        try:
            account, redirect = sim.complete_auth(
                platform, request.query_params.get("state", ""), request.query_params.get("handle")
            )
        except NestError as exc:
            return exc.response()
        params = {
            "provider": platform,
            "projectId": sim.project_id,
            "isSuccess": "true",
            "accountIds": account["id"],
        }
        if redirect:
            separator = "&" if "?" in redirect else "?"
            return RedirectResponse(f"{redirect}{separator}{urlencode(params)}", status_code=302)
        return JSONResponse(params)

    async def admin_stats(request: Request) -> Response:
        return JSONResponse(sim.stats())

    async def admin_tick(request: Request) -> Response:
        return JSONResponse({"processed": sim.tick()})

    async def admin_reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"success": True})

    async def admin_config(request: Request) -> Response:
        body = await _json_body(request)
        return JSONResponse(sim.configure(body if isinstance(body, dict) else {}))

    async def not_found(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return NestError.standard(404, f"Cannot {request.method} {target}", "Not Found").response()

    routes = [
        Route(
            "/v1/social-accounts/auth-url", api(lambda r, b: sim.auth_url(b, base(r)), 201), methods=["POST"]
        ),
        Route("/v1/social-accounts", api(list_accounts), methods=["GET"]),
        Route("/v1/social-accounts/{id}", api(lambda r, b: sim.get_account(path_id(r))), methods=["GET"]),
        Route(
            "/v1/social-accounts/{id}/disconnect",
            api(lambda r, b: sim.disconnect_account(path_id(r)), 201),
            methods=["POST"],
        ),
        Route(
            "/v1/media/create-upload-url", api(lambda r, b: sim.create_upload(base(r)), 201), methods=["POST"]
        ),
        Route("/v1/social-posts", api(lambda r, b: sim.create_post(b), 201), methods=["POST"]),
        Route("/v1/social-posts", api(list_posts), methods=["GET"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.get_post(path_id(r))), methods=["GET"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.update_post(path_id(r), b)), methods=["PUT"]),
        Route("/v1/social-posts/{id}", api(lambda r, b: sim.delete_post(path_id(r))), methods=["DELETE"]),
        Route("/v1/social-post-results", api(list_results), methods=["GET"]),
        Route("/v1/social-post-results/{id}", api(lambda r, b: sim.get_result(path_id(r))), methods=["GET"]),
        Route("/storage/v1/object/upload/sign/post-media/{key:path}", put_upload, methods=["PUT"]),
        Route("/storage/v1/object/public/post-media/{key:path}", public_media, methods=["GET"]),
        Route("/_sim/oauth/callback/{platform}", oauth_callback, methods=["GET"]),
        Route("/_sim/stats", admin_stats, methods=["GET"]),
        Route("/_sim/tick", admin_tick, methods=["POST"]),
        Route("/_sim/reset", admin_reset, methods=["POST"]),
        Route("/_sim/config", admin_config, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
