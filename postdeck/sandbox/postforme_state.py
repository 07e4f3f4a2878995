"""The simulated Post for Me project: accounts, media, posts and results behind one lock.

The draft/scheduled/processing → processed status machine (results only for processed posts),
`{data, meta}` pagination counted the vendor's way, the Supabase signed upload, the OAuth return
trip, and the hooks the fault switches (postdeck.sandbox.faults) act through.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from postdeck.sandbox.common import (
    SimClock,
    digits,
    fault_stats,
    hex_id,
    js_iso,
    nanoid,
    parse_timestamp,
    pg_timestamp,
    read_json,
    status_counts,
    write_json_atomic,
)
from postdeck.sandbox.faults import FaultInjector, seconds_header
from postdeck.sandbox.postforme_wire import (
    ACCOUNT_ERROR,
    ALL_PLATFORMS,
    AUTHORIZE_URLS,
    CONNECTION_TYPES,
    CONTENT_ERROR,
    DEFAULT_API_KEY,
    DELETABLE,
    MAX_UPLOAD_BYTES,
    PLATFORM_LABELS,
    PLATFORMS,
    STATE_VERSION,
    USERNAMES,
    NestError,
    RateLimit,
    internal_error,
    js_falsy,
    media_errors,
    media_item,
    platform_data,
    to_datetime,
    whole_minutes,
)

# --- the state ----------------------------------------------------------------------------------


class PostForMeSim(SimClock):
    """Everything the simulated Post for Me project holds, behind one lock.

    Counters: `create_calls` counts every authorised POST /v1/social-posts (valid or not);
    `creates_by_external_id` counts the posts actually stored per external_id.
    Fault knobs: `fail_platforms` (results fail for these platforms), `fail_after_store` (the next N
    creates store the post, then answer 500 as the real controller can), `response_delay` (seconds
    to hold every /v1 answer after the work is done), `rate_limits` (429s, see REAL_RATE_LIMITS;
    `rate_limited` counts them by limit name, so a test can tell a paced client from a throttled one).
    The clock: `set_now()`, `advance_clock()`, `reset_clock()` (sim.common.SimClock).
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
        self.clock = clock  # None: the wall clock (SimClock: set_now, advance_clock, reset_clock)
        self.process_delay = process_delay  # seconds before an immediate post is processed
        self.tick_interval = tick_interval  # seconds between automatic ticks (the cron); None = manual
        self.response_delay = response_delay
        self.rate_limits = rate_limits
        self.quickstart = quickstart  # system credentials: redirect_url_override is refused
        self.auth_callback_url: str | None = None  # the project's redirect URL (dashboard setting)
        self.fail_platforms: set[str] = set()
        self.fail_after_store = 0
        self.faults = FaultInjector()
        self.faults.disconnect_hook = self.disconnect_platforms
        self._lock = threading.RLock()
        self._hits: dict[str, deque[float]] = {}
        self.rate_limited: dict[str, int] = {}  # 429s answered by `rate_limits`, by limit name
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
                    self.rate_limited[limit.name] = self.rate_limited.get(limit.name, 0) + 1
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
            account: dict[str, Any] = {
                "id": "spc_" + nanoid(),
                "platform": platform,
                "username": username or USERNAMES.get(platform, "postdeck_sandbox"),
                "user_id": ("did:plc:" + nanoid(24).lower()) if platform == "bluesky" else digits(18),
                "profile_photo_url": None,
                "external_id": external_id,
                "metadata": {"connection_type": CONNECTION_TYPES[platform]}
                if platform in CONNECTION_TYPES
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

    def disconnect_platforms(self, platforms: tuple[str, ...] | None = None) -> None:
        """Disconnect every account of these platforms (all when None): a `disconnect` fault."""
        with self._lock:
            for account in self.accounts.values():
                if (
                    platforms is None
                    or account["platform"] in platforms
                    or (account["platform"] == "x" and "twitter" in platforms)
                ):
                    self._set_tokens(account, connected=False)
            self._save()

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
            label = PLATFORM_LABELS.get(str(platform), str(platform).capitalize())
            raise NestError.http(
                404,
                f"Social provider app credentials not found for {label}. Please set up or enable this "
                "platform in Project Setup.",
            )
        given = body.get("platform_data")
        platform_data: dict[str, Any] = given if isinstance(given, dict) else {}
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
        return {"url": f"{AUTHORIZE_URLS[platform]}?{urlencode(params)}", "platform": platform}

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
        if js_falsy(body.get("caption")):
            errors.append("caption is required")
        accounts = body.get("social_accounts")
        if js_falsy(accounts):
            errors.append("at least one social_account is required")
        elif not isinstance(accounts, list) or len(
            {a for a in accounts if isinstance(a, str) and a in self.accounts}
        ) != len(accounts):
            errors.append("invalid social accounts, not owned by user")
        scheduled = body.get("scheduled_at")
        if scheduled is not None:
            moment = to_datetime(scheduled)
            if moment is not None and whole_minutes(moment - self.now()) < 0:
                errors.append("scheduled_at must be in the future")
        errors += media_errors(body.get("media"))
        configs = body.get("platform_configurations")
        for platform, config in (configs if isinstance(configs, dict) else {}).items():
            if isinstance(config, dict):
                errors += media_errors(config.get("media"), f"{platform}: ")
        for config in body.get("account_configurations") or []:
            if isinstance(config, dict) and isinstance(config.get("configuration"), dict):
                prefix = f"account {config.get('social_account_id')}: "
                errors += media_errors(config["configuration"].get("media"), prefix)
        return errors

    def _store(self, body: dict[str, Any], post_id: str | None = None) -> dict[str, Any]:
        """createPost: the row, its accounts, media and configurations (validation already passed)."""
        now = self.now()
        scheduled_raw = body.get("scheduled_at")
        scheduled = to_datetime(scheduled_raw) if scheduled_raw is not None else None
        if scheduled_raw is not None and scheduled is None:
            raise internal_error()  # Invalid Date.toISOString() throws before anything is written
        status = "draft" if body.get("isDraft") else "scheduled" if scheduled else "processing"
        # post_at goes through toISOString (milliseconds) or takes the column default now().
        post_at = parse_timestamp(js_iso(scheduled)) if scheduled else now
        post: dict[str, Any] = {
            "id": post_id or "sp_" + nanoid(),
            "external_id": body.get("external_id"),
            "caption": body["caption"] if isinstance(body["caption"], str) else json.dumps(body["caption"]),
            "status": status,
            "scheduled_at": pg_timestamp(post_at),
            "media": [media_item(m) for m in body.get("media") or [] if isinstance(m, dict)],
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
            media_item(m)
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
            error = self._publish_error(account)
            results.append(
                {
                    "id": "spr_" + nanoid(),
                    "social_account_id": account_id,
                    "post_id": post["id"],
                    "success": error is None,
                    "error": error,
                    "details": {"logs": [f"sandbox: {'failed' if error else 'published'} on {platform}"]},
                    "platform_data": None if error else platform_data(platform, account["username"] or ""),
                    "media": post["media"],
                }
            )
        self.results[post["id"]] = results
        post["status"] = "processed"
        post["updated_at"] = pg_timestamp(now)

    def _publish_error(self, account: dict[str, Any]) -> str | None:
        """Why the worker could not publish on this account, or None."""
        platform = account["platform"]
        if not account["access_token"]:
            return ACCOUNT_ERROR.format(platform=platform)
        if platform in self.fail_platforms:
            return CONTENT_ERROR.format(platform=platform)
        reason = self.faults.platform_failure(platform)
        if reason == "account":
            return ACCOUNT_ERROR.format(platform=platform)
        if reason == "content":
            return CONTENT_ERROR.format(platform=platform)
        return None

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
            return {
                "create_calls": self.create_calls,
                "creates_by_external_id": dict(self.creates_by_external_id),
                "posts": len(self.posts),
                "posts_by_status": status_counts(self.posts.values()),
                "uploads": sum(1 for u in self.uploads.values() if u["size"] is not None),
                "rate_limited": dict(self.rate_limited),
                **fault_stats(self.faults),
            }

    def reset(self) -> None:
        """Forget posts, results, uploads, counters and faults; keep the accounts, all connected."""
        with self._lock:
            for account in self.accounts.values():
                if not account["access_token"]:
                    self._set_tokens(account, connected=True)
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
            self.rate_limited.clear()
            self.create_calls = 0
            self.creates_by_external_id.clear()
            self.fail_platforms.clear()
            self.fail_after_store = 0
            self.faults.clear()
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

    # --- what the fault layer needs (postdeck.sandbox.faults.VendorFaults) ----------------------

    def operation(self, method: str, path: str) -> str | None:
        """The operation a request is, for fault rules; None for admin and public-media routes."""
        if path.startswith("/storage/v1/object/upload/"):
            return "upload"
        if not path.startswith("/v1/"):
            return None
        parts = path.strip("/").split("/")
        resource = parts[1] if len(parts) > 1 else ""
        if resource == "social-posts":
            if len(parts) == 2:
                return "create" if method == "POST" else "list"
            return {"GET": "get", "PUT": "update", "DELETE": "delete"}.get(method, "get")
        if resource == "social-post-results":
            return "results"
        if resource == "social-accounts":
            return "connect" if parts[-1] == "auth-url" else "accounts"
        if resource == "media":
            return "upload"
        return "get"

    def fault_reply(self, status: int) -> tuple[dict[str, Any], dict[str, str]]:
        message = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return {"statusCode": status, "message": message.get(status, "Error")}, {}

    def throttle_reply(self, retry_after: float) -> tuple[dict[str, Any], dict[str, str]]:
        wait = seconds_header(retry_after)
        headers = {
            "Retry-After": wait,
            "X-Rate-Limit-Limit": "40",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": wait,  # seconds until reset, not an epoch
            "X-Rate-Limit-Name": "per_minute_use",
            "X-Rate-Limit-Duration": "60",
        }
        return {"statusCode": 429, "message": "Too many requests, please try again later"}, headers

    def targets(self) -> list[dict[str, Any]]:
        """Every (post, account) pair stored, with where it stands: how tests count deliveries."""
        with self._lock:
            rows = []
            for post in self.posts.values():
                results = {r["social_account_id"]: r for r in self.results.get(post["id"], [])}
                for account_id in post["social_account_ids"]:
                    account = self.accounts.get(account_id, {})
                    result = results.get(account_id)
                    if post["status"] == "processed":
                        status = "published" if result and result["success"] else "failed"
                    else:
                        status = "draft" if post["status"] == "draft" else "pending"
                    platform = account.get("platform", "")
                    rows.append(
                        {
                            "provider": "postforme",
                            "post_id": post["id"],
                            "post_key": post["external_id"],
                            "caption": post["caption"],
                            "platform": "twitter" if platform == "x" else platform,
                            "status": status,
                        }
                    )
            return rows
