"""The LATE / Zernio simulator's state: the wire format of reference §2 and §4.

`LateSim` holds the state (one profile, one connected account per platform, posts, uploads,
counters); `late_app.create_app(sim)` serves it under `/api/v1/...` like zernio.com/api. Behaviour follows the
vendor's OpenAPI spec and its Python SDK models; where those are silent the choice is marked
[inferred]. Notable details reproduced on purpose:

* a create with none of `scheduledFor`, `publishNow`, `queuedFromProfile` silently becomes a draft;
* `publishNow` is synchronous (optionally slowed by `publish_delay`): the post exists, `publishing`,
  while the request is still open, so a client that times out finds it later;
* an `x-request-id` replay within 5 minutes answers 200 `{message, existingPost}` and creates nothing;
  the same content to the same account within 24 h answers 409 with `details.existingPostId`
  (`dedup_first=True` runs that check before the replay check, as the vendor SDK says happens live);
* a publish that does not fully succeed answers 207 `{post, message, error?, platformResults}`
  (the SDK's `PostPublishIncompleteResponse`); full success answers 201 `{message, post}`;
* `X-RateLimit-*` (reset in epoch seconds) and `X-Request-Id` on every `/api` response: `rate_limit`
  requests per key in a sliding window of `rate_window` seconds (LATE's is a minute, and its
  `X-RateLimit-Limit` is per minute; a shorter window is that minute time-scaled, which a client
  built with `time_scale=60 / rate_window` reads alike).

Test hooks: the clock (`set_now()`, `advance_clock()`, `reset_clock()`: sim.common.SimClock), `tick()` /
`tick_interval`, `fail_platforms`, `publish_delay`, `fail_next()`, `set_connected()`, `faults`
(postdeck.sandbox.faults), the counters, `targets()`, and the unauthenticated admin routes `/_sim/stats`,
`/_sim/tick`, `/_sim/reset`, `/_sim/faults`, `/_sim/down`.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.responses import JSONResponse, PlainTextResponse, Response

from postdeck.sandbox.common import (
    SimClock,
    digits,
    fault_stats,
    hex_id,
    js_iso,
    read_json,
    status_counts,
    write_json_atomic,
)
from postdeck.sandbox.faults import FaultInjector, seconds_header
from postdeck.sandbox.late_platform_data import platform_data_problem, published_extras

SANDBOX_LATE_KEY = "sandbox-late-key"
SANDBOX_USERNAME = "postdeck_sandbox"

# The nine platforms the sandbox connects an account for.
SIM_PLATFORMS = (
    "twitter",
    "linkedin",
    "instagram",
    "facebook",
    "tiktok",
    "threads",
    "bluesky",
    "youtube",
    "pinterest",
)
# Every posting platform LATE accepts (reference §2.4); `x` is not one of them.
LATE_PLATFORMS = frozenset(
    {
        *SIM_PLATFORMS,
        "reddit",
        "googlebusiness",
        "telegram",
        "snapchat",
        "discord",
        "slack",
        "whatsapp",
    }
)
PRESIGN_CONTENT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/webp",
        "image/gif",
        "video/mp4",
        "video/mpeg",
        "video/quicktime",
        "video/avi",
        "video/x-msvideo",
        "video/webm",
        "video/x-m4v",
        "application/pdf",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "audio/x-m4a",
    }
)
PROFILE_URLS = {
    "twitter": "https://twitter.com/{}",
    "linkedin": "https://www.linkedin.com/in/{}",
    "instagram": "https://www.instagram.com/{}",
    "facebook": "https://www.facebook.com/{}",
    "tiktok": "https://www.tiktok.com/@{}",
    "threads": "https://www.threads.net/@{}",
    "bluesky": "https://bsky.app/profile/{}",
    "youtube": "https://www.youtube.com/@{}",
    "pinterest": "https://www.pinterest.com/{}",
}
MAX_UPLOAD_BYTES = 5 * 1024**3
MEDIA_ITEM_TYPES = frozenset({"image", "video", "gif", "document"})
REPLAY_WINDOW = timedelta(minutes=5)
DEDUP_WINDOW = timedelta(hours=24)
DEDUP_STATUSES = frozenset({"scheduled", "publishing", "published", "partial"})
EDITABLE_STATUSES = frozenset({"draft", "scheduled", "failed", "partial", "cancelled"})
DELETABLE_STATUSES = frozenset({"draft", "scheduled"})
SORTS = frozenset({"created-desc", "created-asc", "scheduled-desc", "scheduled-asc"})
MAX_POSTS_LIMIT = 500
MAX_ACCOUNTS_LIMIT = 100
PRESIGN_EXPIRES_IN = 3600
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def new_object_id() -> str:
    """A Mongo-style 24-hex id, as every LATE `_id`."""
    return hex_id(24)


def iso(moment: datetime) -> str:
    """Timestamps as LATE (Node) prints them: milliseconds and `Z`."""
    return js_iso(moment)


def parse_time(value: Any, timezone: str = "UTC") -> datetime:
    """An ISO datetime; without an offset it is read in `timezone` (LATE's `timezone` field)."""
    if not isinstance(value, str) or not value:
        raise ValueError("not a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def _code(count: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "".join(secrets.choice(alphabet) for _ in range(count))


def platform_post(platform: str, username: str) -> tuple[str, str]:
    """A plausible (platformPostId, platformPostUrl) for a published target."""
    if platform == "twitter":
        post_id = digits(19)
        return post_id, f"https://twitter.com/{username}/status/{post_id}"
    if platform == "linkedin":
        post_id = f"urn:li:share:{digits(19)}"
        return post_id, f"https://www.linkedin.com/feed/update/{post_id}/"
    if platform == "instagram":
        return digits(17), f"https://www.instagram.com/p/{_code(11)}/"
    if platform == "facebook":
        page, post = digits(15), digits(16)
        return f"{page}_{post}", f"https://www.facebook.com/{page}/posts/{post}"
    if platform == "tiktok":
        post_id = digits(19)
        return post_id, f"https://www.tiktok.com/@{username}/video/{post_id}"
    if platform == "threads":
        return digits(17), f"https://www.threads.net/@{username}/post/{_code(11)}"
    if platform == "bluesky":
        rkey = secrets.token_hex(7)
        did = "did:plc:" + secrets.token_hex(12)
        return f"at://{did}/app.bsky.feed.post/{rkey}", f"https://bsky.app/profile/{username}/post/{rkey}"
    if platform == "youtube":
        post_id = _code(11)
        return post_id, f"https://www.youtube.com/watch?v={post_id}"
    if platform == "pinterest":
        post_id = digits(18)
        return post_id, f"https://www.pinterest.com/pin/{post_id}/"
    post_id = digits(18)
    return post_id, f"https://{platform}.example/{post_id}"


@dataclass
class Reply:
    """An HTTP answer computed under the state lock, sent after it is released."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": message, **extra})


@dataclass
class _Injected:
    status: int
    after_processing: bool


class LateSim(SimClock):
    """The simulator's state. Every public method is thread-safe (tests drive it from their thread)."""

    def __init__(
        self,
        *,
        api_keys: set[str] | None = None,
        state_path: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        publish_delay: float = 0.0,
        media_host: str = "media.zernio.com",
        upload_base: str | None = None,
        rate_limit: int = 600,
        rate_window: float = 60.0,
        dedup_first: bool = False,
        tick_interval: float | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.api_keys = set(api_keys) if api_keys is not None else {SANDBOX_LATE_KEY}
        self.state_path = state_path
        self.clock = clock  # None: the wall clock (SimClock: set_now, advance_clock, reset_clock)
        self.publish_delay = publish_delay
        self.media_host = media_host
        # Where the presigned PUT goes; None means "this server, as the request reached it".
        self.upload_base = upload_base
        self.rate_limit = rate_limit
        if not (math.isfinite(rate_window) and rate_window > 0):
            raise ValueError(f"rate_window={rate_window!r}: expected seconds above 0")
        self.rate_window = rate_window  # seconds: the sliding window `rate_limit` applies to
        self.dedup_first = dedup_first
        # Seconds between automatic runs of the scheduler (checked on each request); None = manual
        # tick() only, as the tests use it.
        self.tick_interval = tick_interval
        self._last_tick = time.monotonic()
        self.fail_platforms: set[str] = set()
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self._injected: list[_Injected] = []
        self._windows: dict[str, deque[float]] = {}
        self.faults = FaultInjector()
        self.faults.disconnect_hook = self.disconnect_platforms
        self._init_state()
        if state_path is not None:
            self._load()

    # --- state ---------------------------------------------------------------------------------

    def _init_state(self, keep: dict[str, str] | None = None) -> None:
        """Fresh state; `keep` maps "user", "profile" and platforms to ids to reuse."""
        keep = keep or {}
        created = iso(self.now())
        self.user_id = keep.get("user") or new_object_id()
        self.profile: dict[str, Any] = {
            "_id": keep.get("profile") or new_object_id(),
            "userId": self.user_id,
            "name": "Default Profile",
            "description": "postdeck sandbox",
            "color": "#ffeda0",
            "isDefault": True,
            "createdAt": created,
        }
        self.accounts: dict[str, dict[str, Any]] = {}
        for platform in SIM_PLATFORMS:
            account_id = keep.get(platform) or new_object_id()
            username = (
                f"{SANDBOX_USERNAME.replace('_', '-')}.bsky.social"
                if platform == "bluesky"
                else SANDBOX_USERNAME
            )
            self.accounts[account_id] = {
                "_id": account_id,
                "platform": platform,
                "profileId": self.profile["_id"],
                "username": username,
                "displayName": "postdeck sandbox",
                "profilePicture": None,
                "profileUrl": PROFILE_URLS[platform].format(username),
                "isActive": True,
                "enabled": True,
                "createdAt": created,
            }
        self.posts: dict[str, dict[str, Any]] = {}
        self.request_ids: dict[str, tuple[str, str]] = {}  # x-request-id -> (post id, first seen ISO)
        self.presigned: dict[str, dict[str, str]] = {}  # key -> {contentType, signature}
        self.pending_connects: dict[str, dict[str, Any]] = {}  # OAuth state -> {platform, redirect_url}
        self.create_calls = 0
        self.posts_created = 0
        self.creates_by_request_id: dict[str, int] = {}
        self.creates_by_post_key: dict[str, int] = {}

    def reset(self) -> None:
        """Forget posts, uploads, counters and hooks; keep the profile and account ids (reconnected)."""
        with self._lock:
            keep = {a["platform"]: a["_id"] for a in self.accounts.values()}
            keep.update(user=self.user_id, profile=self.profile["_id"])
            self.uploads.clear()
            self._injected.clear()
            self._windows.clear()
            self.fail_platforms.clear()
            self.faults.clear()
            self._init_state(keep)
            self._save()

    def account(self, platform: str) -> dict[str, Any]:
        """The (first) account connected for a platform."""
        with self._lock:
            return copy.deepcopy(next(a for a in self.accounts.values() if a["platform"] == platform))

    def set_connected(self, platform: str, connected: bool) -> None:
        """Disconnect (isActive false: creates answer 403 ACCOUNT_DISCONNECTED) or reconnect."""
        with self._lock:
            for account in self.accounts.values():
                if account["platform"] == platform:
                    account["isActive"] = connected
                    account["needsReconnection"] = not connected
            self._save()

    def disconnect_platforms(self, platforms: tuple[str, ...] | None = None) -> None:
        """Disconnect the accounts of these platforms (all when None): a `disconnect` fault."""
        with self._lock:
            for name in {a["platform"] for a in self.accounts.values()}:
                if platforms is None or name in platforms:
                    self.set_connected(name, False)

    def post(self, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.posts.get(post_id)
            return copy.deepcopy(found) if found is not None else None

    def fail_next(self, status: int = 500, *, after_processing: bool = False) -> None:
        """Answer the next authenticated /api request with `status`; after_processing runs it first
        (a gateway error after the origin did the work)."""
        with self._lock:
            self._injected.append(_Injected(status, after_processing))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "create_calls": self.create_calls,
                "posts_created": self.posts_created,
                "creates_by_request_id": dict(self.creates_by_request_id),
                "creates_by_post_key": dict(self.creates_by_post_key),
                "posts": len(self.posts),
                "posts_by_status": status_counts(self.posts.values()),
                "uploads": len(self.uploads),
                **fault_stats(self.faults),
            }

    def advance(self) -> None:
        """Before each request: run the scheduler if its interval has passed."""
        if self.tick_interval is not None and time.monotonic() - self._last_tick >= self.tick_interval:
            self.tick()

    def tick(self) -> int:
        """Publish every scheduled post that is due; return how many were published."""
        with self._lock:
            self._last_tick = time.monotonic()
            now = self.now()
            due = [
                post
                for post in self.posts.values()
                if post["status"] == "scheduled" and parse_time(post["scheduledFor"]) <= now
            ]
            for post in due:
                self._publish(post)
            if due:
                self._save()
            return len(due)

    # --- persistence ---------------------------------------------------------------------------

    _PERSISTED = (
        "user_id",
        "profile",
        "accounts",
        "posts",
        "request_ids",
        "presigned",
        "create_calls",
        "posts_created",
        "creates_by_request_id",
        "creates_by_post_key",
    )

    def _save(self) -> None:
        if self.state_path is None:
            return
        write_json_atomic(self.state_path, {name: getattr(self, name) for name in self._PERSISTED})

    def _load(self) -> None:
        assert self.state_path is not None
        data = read_json(self.state_path) or {}
        for name in self._PERSISTED:
            if name in data:
                setattr(self, name, data[name])
        self.request_ids = {k: (v[0], v[1]) for k, v in self.request_ids.items()}

    # --- edge: auth, rate limit, injected errors ------------------------------------------------

    def _authorized(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.api_keys

    def _count_request(self, authorization: str) -> tuple[int, int, int, bool]:
        """Sliding window of `rate_window` seconds (a minute) per key: (limit, remaining, reset epoch,
        allowed)."""
        bucket = hashlib.sha256(authorization.encode()).hexdigest()
        now = time.time()
        with self._lock:
            window = self._windows.setdefault(bucket, deque())
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            allowed = len(window) < self.rate_limit
            if allowed:
                window.append(now)
            reset = int((window[0] if window else now) + self.rate_window) + 1
            return self.rate_limit, max(self.rate_limit - len(window), 0), reset, allowed

    def _take_injected(self) -> _Injected | None:
        with self._lock:
            return self._injected.pop(0) if self._injected else None

    # --- accounts, profiles, connect, media ------------------------------------------------------

    def _account_view(self, account: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(account)
        view.pop("createdAt", None)
        # The vendor's example populates profileId; clients must accept both forms.
        view["profileId"] = {
            "_id": self.profile["_id"],
            "name": self.profile["name"],
            "color": self.profile["color"],
        }
        return view

    def list_accounts(self, params: dict[str, str]) -> Reply:
        with self._lock:
            has_page, has_limit = "page" in params, "limit" in params
            if has_page != has_limit:
                return error(400, "page and limit must be provided together")
            accounts = list(self.accounts.values())
            if params.get("profileId"):
                accounts = [a for a in accounts if a["profileId"] == params["profileId"]]
            if params.get("platform"):
                accounts = [a for a in accounts if a["platform"] == params["platform"]]
            status = params.get("status")
            if status not in (None, "", "connected", "disconnected"):
                return error(400, "status must be connected or disconnected")
            if status:
                accounts = [a for a in accounts if a["isActive"] == (status == "connected")]
            body: dict[str, Any] = {"hasAnalyticsAccess": False}
            if has_page:
                try:
                    page, limit = int(params["page"]), int(params["limit"])
                except ValueError:
                    return error(400, "page and limit must be integers")
                if page < 1 or not 1 <= limit <= MAX_ACCOUNTS_LIMIT:
                    return error(400, f"limit must be between 1 and {MAX_ACCOUNTS_LIMIT}")
                total = len(accounts)
                accounts = accounts[(page - 1) * limit : page * limit]
                body["pagination"] = {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "pages": -(-total // limit),
                }
            body["accounts"] = [self._account_view(a) for a in accounts]
            return Reply(200, body)

    def list_profiles(self) -> Reply:
        with self._lock:
            return Reply(200, {"profiles": [copy.deepcopy(self.profile)]})

    def connect_url(
        self, platform: str, params: dict[str, str], base_url: str = "https://zernio.com"
    ) -> Reply:
        if platform not in LATE_PLATFORMS:
            return error(400, f"Unsupported platform: {platform}")
        profile_id = params.get("profileId")
        if not profile_id:
            return error(400, "profileId is required")
        with self._lock:
            if profile_id != self.profile["_id"]:
                return error(404, "Profile not found")
            state = f"{self.user_id}-{profile_id}-{secrets.token_hex(8)}"
            # The spec names it redirect_url; the vendor's SDK camel-cases every parameter.
            redirect = params.get("redirect_url") or params.get("redirectUrl")
            self.pending_connects[state] = {"platform": platform, "redirect_url": redirect}
        # The sandbox's own stand-in for the platform's consent screen (GET it to connect).
        auth_url = f"{base_url.rstrip('/')}/_sim/oauth/{platform}/authorize?state={state}"
        return Reply(200, {"authUrl": auth_url, "state": state})

    def complete_connect(self, platform: str, state: str) -> tuple[dict[str, Any], str | None] | Reply:
        """The OAuth return trip: (re)connect the platform's account; say where to send the browser."""
        with self._lock:
            pending = self.pending_connects.pop(state, None)
            if pending is None or pending["platform"] != platform:
                return error(400, "Invalid or expired state")
            account = self._connect_account(platform, None)
            return account, pending["redirect_url"]

    def _connect_account(self, platform: str, username: str | None) -> dict[str, Any]:
        """Reconnect the platform's account (or make one) and return it."""
        existing = next((a for a in self.accounts.values() if a["platform"] == platform), None)
        if existing is None:
            account_id = new_object_id()
            name = username or SANDBOX_USERNAME
            existing = self.accounts[account_id] = {
                "_id": account_id,
                "platform": platform,
                "profileId": self.profile["_id"],
                "username": name,
                "displayName": name,
                "profilePicture": None,
                "profileUrl": PROFILE_URLS.get(platform, "https://example.com/{}").format(name),
                "isActive": True,
                "enabled": True,
                "createdAt": iso(self.now()),
            }
        existing["isActive"] = True
        existing.pop("needsReconnection", None)
        if username:
            existing["username"] = existing["displayName"] = username
        self._save()
        return existing

    def list_users(self) -> Reply:
        with self._lock:
            user = {
                "_id": self.user_id,
                "email": "sandbox@postdeck.invalid",
                "name": "postdeck sandbox",
                "role": "owner",
                "createdAt": self.profile["createdAt"],
            }
            return Reply(200, {"users": [user], "currentUserId": self.user_id})

    def connect_bluesky(self, body: Any) -> Reply:
        """POST /v1/connect/bluesky/credentials: identifier + appPassword, state `{userId}-{profileId}`."""
        if not isinstance(body, dict):
            return error(400, "Invalid JSON body")
        identifier, password, state = body.get("identifier"), body.get("appPassword"), body.get("state")
        if not isinstance(identifier, str) or not identifier or not isinstance(password, str) or not password:
            return error(400, "identifier and appPassword are required")
        with self._lock:
            if state != f"{self.user_id}-{self.profile['_id']}":
                return error(400, "Invalid state: expected {userId}-{profileId}")
            if not re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", password):
                return error(401, "Invalid Bluesky credentials", code="BLUESKY_AUTH_FAILED")
            account = self._connect_account("bluesky", identifier)
            return Reply(
                200,
                {"message": "Bluesky account connected successfully", "account": self._account_view(account)},
            )

    def presign(self, body: Any, base_url: str) -> Reply:
        if not isinstance(body, dict):
            return error(400, "Invalid JSON body")
        filename, content_type, size = body.get("filename"), body.get("contentType"), body.get("size")
        if not isinstance(filename, str) or not filename:
            return error(400, "filename is required")
        if content_type not in PRESIGN_CONTENT_TYPES:
            return error(400, f"Unsupported content type: {content_type}")
        if size is not None and (not isinstance(size, int) or not 0 <= size <= MAX_UPLOAD_BYTES):
            return error(400, "File size exceeds the 5GB limit")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[-100:]
        key = f"temp/{int(time.time() * 1000)}_{secrets.token_hex(4)}_{safe}"
        signature = secrets.token_hex(16)
        with self._lock:
            self.presigned[key] = {"contentType": content_type, "signature": signature}
            self._save()
        upload_base = (self.upload_base or base_url).rstrip("/")
        return Reply(
            200,
            {
                "uploadUrl": f"{upload_base}/_sim/upload/{key}?X-Amz-Signature={signature}",
                "publicUrl": f"https://{self.media_host}/{key}",
                "key": key,
                "expiresIn": PRESIGN_EXPIRES_IN,
            },
        )

    def receive_upload(self, key: str, signature: str, content_type: str, data: bytes) -> Response:
        """The presigned PUT, as a storage bucket answers it (no auth, signature in the URL)."""
        with self._lock:
            grant = self.presigned.get(key)
            if grant is None or not secrets.compare_digest(grant["signature"], signature):
                return PlainTextResponse("SignatureDoesNotMatch", status_code=403)
            if content_type.split(";")[0].strip() != grant["contentType"]:
                # The Content-Type is part of the signed request.
                return PlainTextResponse("SignatureDoesNotMatch: Content-Type", status_code=403)
            self.uploads[key] = (grant["contentType"], data)
        return Response(status_code=200)

    # --- posts -----------------------------------------------------------------------------------

    def _view(self, post: dict[str, Any], *, populate: bool) -> dict[str, Any]:
        """A post as the API returns it; populate=True expands platforms[].accountId to an object."""
        view = copy.deepcopy(post)
        if populate:
            for target in view["platforms"]:
                account = self.accounts.get(target["accountId"])
                if account is not None:
                    target["accountId"] = {
                        key: account[key]
                        for key in ("_id", "platform", "profileId", "username", "displayName", "isActive")
                    }
        return view

    def _validate_post(self, body: dict[str, Any], *, is_draft: bool) -> Reply | None:
        timezone = body.get("timezone", "UTC")
        try:
            ZoneInfo(timezone if isinstance(timezone, str) else "")
        except (ZoneInfoNotFoundError, ValueError):
            return error(400, f"Invalid timezone: {timezone}", param="timezone")
        platforms = body.get("platforms", [])
        if not isinstance(platforms, list):
            return error(400, "platforms must be an array", param="platforms")
        if not platforms and not is_draft:
            return error(400, "At least one platform is required", param="platforms")
        for target in platforms:
            if not isinstance(target, dict) or not isinstance(target.get("accountId"), str):
                return error(400, "Each platform needs platform and accountId", param="platforms")
            if target.get("platform") not in LATE_PLATFORMS:
                return error(400, f"Unsupported platform: {target.get('platform')}", param="platforms")
            if "customContent" in target and not isinstance(target["customContent"], str):
                return error(400, "customContent must be a string", param="platforms")
            if "platformSpecificData" in target and not isinstance(target["platformSpecificData"], dict):
                return error(400, "platformSpecificData must be an object", param="platforms")
            if (problem := platform_data_problem(target, MEDIA_ITEM_TYPES)) is not None:
                return error(400, problem, param="platforms")
        media = body.get("mediaItems", [])
        if not isinstance(media, list):
            return error(400, "mediaItems must be an array", param="mediaItems")
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in MEDIA_ITEM_TYPES:
                return error(
                    400, "Each media item needs a type: image, video, gif or document", param="mediaItems"
                )
            if not isinstance(item.get("url"), str) or not item["url"].startswith("https://"):
                return error(400, "Media URLs must be public HTTPS URLs", param="mediaItems")
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            return error(400, "content must be a string", param="content")
        if not is_draft and not content and not media and not all(t.get("customContent") for t in platforms):
            return error(400, "Content is required unless media is attached", param="content")
        if body.get("scheduledFor") is not None:
            try:
                parse_time(body["scheduledFor"], timezone)
            except (ValueError, TypeError):
                return error(400, "scheduledFor must be an ISO 8601 datetime", param="scheduledFor")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return error(400, "metadata must be an object", param="metadata")
        return None

    def _check_accounts(self, platforms: list[dict[str, Any]]) -> Reply | None:
        for target in platforms:
            account = self.accounts.get(target["accountId"])
            if account is None:
                return error(400, f"Account {target['accountId']} not found", code="ACCOUNT_NOT_FOUND")
            if account["platform"] != target["platform"]:
                return error(400, f"Account {account['_id']} is not a {target['platform']} account")
            if not account["isActive"]:
                return error(
                    403,
                    f"The {account['platform']} account @{account['username']} is disconnected. Reconnect it.",
                    code="ACCOUNT_DISCONNECTED",
                    platform=account["platform"],
                )
        return None

    @staticmethod
    def _fingerprints(post: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
        """(account, text, media) per target: what the 24-hour duplicate check compares."""
        media = tuple(m.get("url", "") for m in post.get("mediaItems", []))
        return {
            (
                target["accountId"],
                target.get("customContent") or post.get("content") or "",
                tuple(m.get("url", "") for m in target.get("customMedia") or []) or media,
            )
            for target in post.get("platforms", [])
        }

    def _duplicate_of(self, body: dict[str, Any]) -> Reply | None:
        wanted = self._fingerprints(body)
        cutoff = self.now() - DEDUP_WINDOW
        for post in self.posts.values():
            if post["status"] not in DEDUP_STATUSES or parse_time(post["createdAt"]) < cutoff:
                continue
            if wanted & self._fingerprints(post):
                return error(
                    409,
                    "This content was already posted to this account in the last 24 hours.",
                    code="DUPLICATE_CONTENT",
                    details={"existingPostId": post["_id"]},
                )
        return None

    def _replay_of(self, request_id: str | None) -> Reply | None:
        if not request_id or request_id not in self.request_ids:
            return None
        post_id, first_seen = self.request_ids[request_id]
        post = self.posts.get(post_id)
        if post is None or self.now() - parse_time(first_seen) > REPLAY_WINDOW:
            return None
        return Reply(
            200,
            {"message": "Request already processed", "existingPost": self._view(post, populate=False)},
        )

    def begin_create(self, body: Any, request_id: str | None) -> Reply | str:
        """POST /v1/posts up to the publish: a Reply, or the id of a post to publish synchronously."""
        with self._lock:
            self.create_calls += 1
            if not isinstance(body, dict):
                return error(400, "Invalid JSON body")
            publish_now = body.get("publishNow") is True
            scheduled = body.get("scheduledFor") is not None or bool(body.get("queuedFromProfile"))
            is_draft = body.get("isDraft") is True or not (publish_now or scheduled)
            invalid = self._validate_post(body, is_draft=is_draft)
            if invalid is not None:
                return invalid
            platforms = body.get("platforms", [])
            checks: list[Callable[[], Reply | None]] = [
                lambda: self._replay_of(request_id),
                lambda: self._check_accounts(platforms),
                lambda: None if is_draft else self._duplicate_of(body),
            ]
            if self.dedup_first:
                checks = [checks[1], checks[2], checks[0]]
            for check in checks:
                refused = check()
                if refused is not None:
                    return refused
            post = self._new_post(body, is_draft=is_draft, publish_now=publish_now)
            self.posts[post["_id"]] = post
            self.posts_created += 1
            if request_id:
                self.request_ids[request_id] = (post["_id"], post["createdAt"])
                self.creates_by_request_id[request_id] = self.creates_by_request_id.get(request_id, 0) + 1
            post_key = (post.get("metadata") or {}).get("postdeck_post_key")
            if isinstance(post_key, str):
                self.creates_by_post_key[post_key] = self.creates_by_post_key.get(post_key, 0) + 1
            self._save()
            if publish_now:
                return post["_id"]
            message = "Post saved as draft" if is_draft else "Post scheduled successfully"
            return Reply(201, {"message": message, "post": self._view(post, populate=False)})

    def _new_post(self, body: dict[str, Any], *, is_draft: bool, publish_now: bool) -> dict[str, Any]:
        now = self.now()
        timezone = body.get("timezone") or "UTC"
        if publish_now:
            scheduled_for: str | None = iso(now)  # [inferred] LATE stamps immediate posts with "now"
        elif body.get("scheduledFor") is not None:
            scheduled_for = iso(parse_time(body["scheduledFor"], timezone))
        elif body.get("queuedFromProfile"):
            scheduled_for = iso(now + timedelta(hours=1))  # the next queue slot, roughly
        else:
            scheduled_for = None
        target_status = "publishing" if publish_now else "pending"
        platforms = []
        for target in body.get("platforms", []):
            entry = {"platform": target["platform"], "accountId": target["accountId"]}
            for key in ("customContent", "customMedia", "scheduledFor", "platformSpecificData"):
                if target.get(key) is not None:
                    entry[key] = copy.deepcopy(target[key])
            entry["status"] = target_status
            platforms.append(entry)
        post: dict[str, Any] = {
            "_id": new_object_id(),
            "userId": self.user_id,
            "content": body.get("content") or "",
            "mediaItems": copy.deepcopy(body.get("mediaItems", [])),
            "platforms": platforms,
            "status": "draft" if is_draft else ("publishing" if publish_now else "scheduled"),
            "timezone": timezone,
            "tags": list(body.get("tags") or []),
            "hashtags": list(body.get("hashtags") or []),
            "mentions": list(body.get("mentions") or []),
            "createdAt": iso(now),
            "updatedAt": iso(now),
        }
        if scheduled_for is not None:
            post["scheduledFor"] = scheduled_for
        for key in ("title", "metadata", "queuedFromProfile", "queueId"):
            if body.get(key) is not None:
                post[key] = copy.deepcopy(body[key])
        return post

    def _publish(self, post: dict[str, Any], *, only_unpublished: bool = False) -> None:
        """Resolve every open target to published or failed (fail_platforms), then roll up the post."""
        now = iso(self.now())
        for target in post["platforms"]:
            if only_unpublished and target["status"] == "published":
                continue
            for key in ("errorMessage", "errorCategory", "errorSource", "platformPostId", "platformPostUrl"):
                target.pop(key, None)
            account = self.accounts.get(target["accountId"], {})
            failure = self._publish_failure(target["platform"], account)
            if failure is not None:
                target["status"] = "failed"
                target["errorMessage"], target["errorCategory"], target["errorSource"] = failure
            else:
                post_id, url = platform_post(target["platform"], account.get("username", SANDBOX_USERNAME))
                target["status"] = "published"
                target["platformPostId"] = post_id
                target["platformPostUrl"] = url
                target["publishedAt"] = now
        statuses = {t["status"] for t in post["platforms"]}
        if statuses == {"published"}:
            post["status"] = "published"
        elif "published" in statuses:
            post["status"] = "partial"
        else:
            post["status"] = "failed"
        post["updatedAt"] = now

    def _publish_failure(self, platform: str, account: dict[str, Any]) -> tuple[str, str, str] | None:
        """(errorMessage, errorCategory, errorSource) when this target cannot be published."""
        if not account.get("isActive", True):
            message = f"The {platform} account is disconnected. Reconnect it to publish."
            return message, "account_issue", "user"
        reason = "content" if platform in self.fail_platforms else self.faults.platform_failure(platform)
        if reason == "content":
            return f"{platform} rejected the post (simulated failure)", "platform_rejected", "platform"
        if reason == "account":
            return f"{platform} access token expired: reconnect the account", "auth_expired", "user"
        return None

    def finish_publish(self, post_id: str, *, success_status: int, success_message: str) -> Reply:
        """Publish a post left `publishing` by a create, update or retry; 207 unless all published."""
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:  # reset meanwhile
                return error(404, "Not found")
            self._publish(post, only_unpublished=True)
            self._save()
            view = self._view(post, populate=False)
            if post["status"] == "published":
                return Reply(success_status, {"message": success_message, "post": view})
            failed = [t for t in post["platforms"] if t["status"] == "failed"]
            body: dict[str, Any] = {
                "post": view,
                "message": "Post partially published"
                if post["status"] == "partial"
                else "Post failed to publish",
                "platformResults": [
                    {"platform": t["platform"], "status": t["status"], "error": t.get("errorMessage")}
                    for t in post["platforms"]
                ],
            }
            if post["status"] == "failed" and failed:
                body["error"] = failed[0]["errorMessage"]
            return Reply(207, body)

    def list_posts(self, params: dict[str, str]) -> Reply:
        try:
            page = int(params.get("page", 1))
            limit = int(params.get("limit", 10))
        except ValueError:
            return error(400, "page and limit must be integers")
        if page < 1 or not 1 <= limit <= MAX_POSTS_LIMIT:
            return error(400, f"limit must be between 1 and {MAX_POSTS_LIMIT}", param="limit")
        sort = params.get("sortBy", "scheduled-desc")
        if sort not in SORTS:
            sort = "scheduled-desc"  # [inferred] unknown sorts fall back to the default
        with self._lock:
            posts = list(self.posts.values())
            if params.get("status"):
                posts = [p for p in posts if p["status"] == params["status"]]
            if params.get("platform"):
                posts = [p for p in posts if any(t["platform"] == params["platform"] for t in p["platforms"])]
            field_name = "createdAt" if sort.startswith("created") else "scheduledFor"
            # Posts without the field (drafts) sort last either way.
            dated = [p for p in posts if p.get(field_name)]
            dated.sort(key=lambda p: parse_time(p[field_name]), reverse=sort.endswith("desc"))
            posts = dated + [p for p in posts if not p.get(field_name)]
            total = len(posts)
            window = posts[(page - 1) * limit : page * limit]
            return Reply(
                200,
                {
                    "posts": [self._view(p, populate=True) for p in window],
                    "pagination": {"page": page, "limit": limit, "total": total, "pages": -(-total // limit)},
                },
            )

    def get_post(self, post_id: str) -> Reply:
        with self._lock:
            post = self.posts.get(post_id) if _OBJECT_ID.match(post_id) else None
            if post is None:
                return error(404, "Not found")
            return Reply(200, {"post": self._view(post, populate=True)})

    def update_post(self, post_id: str, body: Any) -> Reply | str:
        """PUT /v1/posts/{id}: a Reply, or the id of a post to publish now (publishNow: true)."""
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                return error(404, "Not found")
            if not isinstance(body, dict):
                return error(400, "Invalid JSON body")
            if post["status"] not in EDITABLE_STATUSES:
                return error(400, f"Cannot edit a post that is {post['status']}")
            merged = {**post, **body, "timezone": body.get("timezone") or post.get("timezone", "UTC")}
            invalid = self._validate_post(merged, is_draft=body.get("isDraft") is True)
            if invalid is not None:
                return invalid
            if "platforms" in body:
                refused = self._check_accounts(body["platforms"])
                if refused is not None:
                    return refused
                post["platforms"] = self._new_post(body, is_draft=True, publish_now=False)["platforms"]
            for key in (
                "content",
                "title",
                "mediaItems",
                "tags",
                "hashtags",
                "mentions",
                "metadata",
                "timezone",
            ):
                if key in body:
                    post[key] = copy.deepcopy(body[key])
            if body.get("scheduledFor") is not None:
                post["scheduledFor"] = iso(parse_time(body["scheduledFor"], post.get("timezone", "UTC")))
            publish_now = body.get("publishNow") is True
            if body.get("isDraft") is True:
                post["status"] = "draft"
            elif publish_now:
                post["status"] = "publishing"
                post["scheduledFor"] = iso(self.now())
            elif body.get("scheduledFor") is not None and (
                post["status"] != "draft" or body.get("isDraft") is False
            ):
                # [inferred] a draft is promoted only when isDraft:false says so.
                post["status"] = "scheduled"
            if post["status"] in ("scheduled", "publishing"):
                for target in post["platforms"]:
                    if target["status"] != "published":
                        target["status"] = "publishing" if publish_now else "pending"
                        for key in ("errorMessage", "errorCategory", "errorSource"):
                            target.pop(key, None)
            post["updatedAt"] = iso(self.now())
            self._save()
            if publish_now:
                return post_id
            return Reply(
                200, {"message": "Post updated successfully", "post": self._view(post, populate=False)}
            )

    def delete_post(self, post_id: str) -> Reply:
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                return error(404, "Not found")
            if post["status"] not in DELETABLE_STATUSES:
                return error(
                    400,
                    f"Cannot delete a {post['status']} post. Only draft or scheduled posts can be deleted; "
                    "use unpublish for published posts.",
                )
            del self.posts[post_id]
            self._save()
            return Reply(200, {"message": "Post deleted successfully"})

    def begin_retry(self, post_id: str) -> Reply | str:
        with self._lock:
            post = self.posts.get(post_id)
            if post is None:
                return error(404, "Not found")
            if post["status"] == "publishing":
                return error(409, "Post is currently publishing")
            if post["status"] not in ("failed", "partial"):
                return error(
                    400, f"Only failed or partial posts can be retried (this one is {post['status']})"
                )
            post["status"] = "publishing"
            for target in post["platforms"]:
                if target["status"] == "failed":
                    target["status"] = "publishing"
            self._save()
            return post_id

    # --- what the fault layer needs (postdeck.sandbox.faults.VendorFaults) ----------------------

    def operation(self, method: str, path: str) -> str | None:
        """The operation a request is, for fault rules; None for admin routes."""
        if path.startswith("/_sim/upload/"):
            return "upload"
        if not path.startswith("/api/v1/"):
            return None
        parts = path.removeprefix("/api/v1/").strip("/").split("/")
        if parts[0] == "posts":
            if len(parts) == 1:
                return "create" if method == "POST" else "list"
            if len(parts) > 2 and parts[2] == "retry":
                return "retry"
            return {"GET": "get", "PUT": "update", "DELETE": "delete"}.get(method, "get")
        if parts[0] == "connect":
            return "connect"
        if parts[0] == "media":
            return "upload"
        return "accounts"  # accounts, profiles, users

    def _edge_headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-Request-Id": str(uuid.uuid4()),
        }

    def fault_reply(self, status: int) -> tuple[dict[str, Any], dict[str, str]]:
        reset = int(time.time()) + math.ceil(self.rate_window)
        return {"error": "Internal server error", "type": "api_error"}, self._edge_headers(
            self.rate_limit, reset
        )

    def throttle_reply(self, retry_after: float) -> tuple[dict[str, Any], dict[str, str]]:
        reset = math.ceil(time.time() + retry_after)
        headers = self._edge_headers(0, reset) | {"Retry-After": seconds_header(retry_after)}
        body = {
            "error": "Rate limit exceeded",
            "details": {"limit": self.rate_limit, "remaining": 0, "reset": reset},
        }
        return body, headers

    def targets(self) -> list[dict[str, Any]]:
        """Every platform target of every stored post, with where it stands: how tests count deliveries."""
        with self._lock:
            rows = []
            for post in self.posts.values():
                key = (post.get("metadata") or {}).get("postdeck_post_key")
                for target in post["platforms"]:
                    raw = target.get("status")
                    status = (
                        "draft"
                        if post["status"] == "draft"
                        else raw
                        if raw in ("published", "failed")
                        else "pending"
                    )
                    rows.append(
                        {
                            "provider": "late",
                            "post_id": post["_id"],
                            "post_key": key,
                            "caption": target.get("customContent") or post.get("content") or "",
                            "platform": target["platform"],
                            "status": status,
                            **published_extras(target),
                        }
                    )
            return rows
