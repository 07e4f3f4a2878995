"""The LATE client (the vendor is now called Zernio; postdeck keeps the name LATE).

Speaks the wire format of reference §2 over httpx, with no automatic retries: a create is sent once,
and every failure is classified (providers.errors) so the chain knows whether the post may exist.

Idempotency. LATE has two guards, and postdeck uses both plus a third of its own:
* the `x-request-id` header (a UUID; a replay within ~5 minutes returns the original post). postdeck's
  post keys are not UUIDs, so the header carries `request_id_for(post_key)`, a UUIDv5 of the key under
  a fixed namespace: the same post key always gives the same request id;
* the 24-hour duplicate-content check (409 with `details.existingPostId`): adopted as "already created";
* `metadata.postdeck_post_key`, which LATE stores and echoes: `lookup` pages through recent posts for
  it, because LATE cannot filter by request id and a replay after the 5-minute window would post twice.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from postdeck.errors import CredentialsError
from postdeck.providers.base import (
    Account,
    Platform,
    PostOutcome,
    PostRequest,
    Target,
    TargetResult,
    TargetStatus,
)
from postdeck.providers.errors import (
    ProviderError,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
    redact,
)

PROVIDER = "late"
DEFAULT_BASE_URL = "https://zernio.com/api"
# publishNow runs the whole cross-platform publish inside the request (a Threads publish was
# measured at 222 s), so that one call waits up to 300 s for the reply; everything else 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PUBLISH_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=300.0)
POST_KEY_FIELD = "postdeck_post_key"
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 5
# Fixed forever: changing it would change every request id derived from a post key.
REQUEST_ID_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5e07-9c61-2b7f0d5a9e43")

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
# Transport failures where the request cannot have reached LATE.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# 403 codes that say "this key/account at LATE", not "this content": another provider may succeed.
_PROVIDER_SPECIFIC_403 = frozenset(
    {None, "ACCOUNT_DISCONNECTED", "insufficient_permissions", "unclassified_resource"}
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_id_for(post_key: str) -> str:
    """The x-request-id sent for a post key: a UUIDv5, stable across retries and processes."""
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, post_key))


def provider_error(
    method: str,
    url: str,
    *,
    response: httpx.Response | None = None,
    exc: Exception | None = None,
    secret: str = "",
) -> ProviderError:
    """The one place that turns an httpx failure or a non-2xx reply into a classified ProviderError."""
    if response is None:
        cls = ProviderNotSent if isinstance(exc, _NOT_SENT_ERRORS) else ProviderMaybeSent
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else "no response"
        return cls(redact(detail, secret), provider=PROVIDER, method=method, url=url)
    status = response.status_code
    data = _json_or_empty(response)
    message = data.get("error") if isinstance(data.get("error"), str) else f"HTTP {status}"
    code = data.get("code") if isinstance(data.get("code"), str) else None
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "method": method,
        "url": url,
        "status": status,
        "request_id": response.headers.get("x-request-id"),
        "body": redact(response.text, secret),
    }
    message = redact(message, secret)
    if status == 429:
        return ProviderThrottled(message, retry_after=_retry_after(response), **common)
    if status >= 500 or status == 408:
        # A GET changes nothing; a POST/PUT may have been processed before the error.
        not_sent = method.upper() in _SAFE_METHODS or status == 408
        return (ProviderNotSent if not_sent else ProviderMaybeSent)(message, **common)
    if status in (401, 402):  # bad key, or this LATE account's plan: another provider may do it
        return ProviderRejected(message, provider_specific=True, **common)
    if status == 403:
        return ProviderRejected(message, provider_specific=code in _PROVIDER_SPECIFIC_403, **common)
    return ProviderRejected(message, **common)


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("x-ratelimit-reset")  # epoch seconds at LATE
    if reset and reset.isdigit():
        return max(int(reset) - datetime.now(UTC).timestamp(), 0.0)
    return None


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
        case Platform.FACEBOOK:
            if options.get("page"):
                data["pageId"] = str(options["page"])
        case Platform.LINKEDIN:
            if options.get("organization"):
                org = str(options["organization"])
                data["organizationUrn"] = org if org.startswith("urn:") else f"urn:li:organization:{org}"
        case Platform.INSTAGRAM:
            if str(options.get("placement", "")).lower() in ("story", "stories"):
                data["contentType"] = "story"
    return data


def post_body(request: PostRequest) -> dict[str, Any]:
    """The createPost body. Always sends scheduledFor or publishNow: with neither, LATE makes a draft."""
    platforms = []
    for target in request.targets:
        entry: dict[str, Any] = {"platform": str(target.platform), "accountId": target.account_id}
        if target.caption != request.caption:
            entry["customContent"] = target.caption
        specific = platform_specific_data(target)
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
    else:
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


def _account_id(value: Any) -> str:
    """platforms[].accountId is a plain id or a populated account object."""
    if isinstance(value, dict):
        return str(value.get("_id", ""))
    return str(value or "")


def parse_outcome(post: dict[str, Any]) -> PostOutcome:
    """A LATE post (create/get/list reply) as postdeck's PostOutcome."""
    post_status = post.get("status")
    scheduled_at = _parse_time(post.get("scheduledFor"))
    # `pending` means "waiting for its time" only on a scheduled post; LATE also stamps immediate
    # posts with a scheduledFor, so the post status, not the field, tells the two apart.
    waiting = post_status == "scheduled" or (not post_status and scheduled_at is not None)
    results = []
    for target in post.get("platforms") or []:
        try:
            platform = Platform(target.get("platform"))
        except ValueError:
            continue  # a platform postdeck does not post to
        raw = target.get("status")
        error = None
        if raw == "published":
            status = TargetStatus.POSTED
        elif raw == "failed":
            status = TargetStatus.FAILED
            error = target.get("errorMessage") or "failed at LATE"
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
            )
        )
    return PostOutcome(
        provider=PROVIDER,
        provider_post_id=str(post.get("_id", "")),
        results=tuple(results),
        scheduled_at=scheduled_at,
    )


def parse_account(raw: dict[str, Any]) -> Account | None:
    """One /v1/accounts entry, or None when it cannot be posted to."""
    try:
        platform = Platform(raw.get("platform"))
    except ValueError:
        return None
    # isActive false = disconnected; needsReconnection = token dead; enabled false = not for posting.
    if raw.get("isActive") is False or raw.get("needsReconnection") or raw.get("enabled") is False:
        return None
    profile = raw.get("profileId")
    profile_id = profile.get("_id") if isinstance(profile, dict) else profile
    return Account(
        provider=PROVIDER,
        id=str(raw["_id"]),
        platform=platform,
        username=str(raw.get("username") or raw.get("displayName") or ""),
        connected=True,
        profile_id=str(profile_id) if profile_id else None,
    )


class LateClient:
    """postdeck's Provider for LATE / Zernio. The API key never leaves the Authorization header."""

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        key = api_key or os.environ.get("LATE_API_KEY")
        if not key:
            raise CredentialsError(
                "No LATE API key: pass api_key= (e.g. `postdeck credentials set`) "
                "or set the LATE_API_KEY environment variable."
            )
        self._api_key = key
        self.base_url = (base_url or os.environ.get("LATE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        # A caller's timeout applies to every call, publishNow included.
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._publish_timeout = timeout or PUBLISH_TIMEOUT
        self._owns_http = http_client is None
        # No retries anywhere: httpx's transport default is zero retries, and we add none.
        self._http = http_client or httpx.Client(timeout=self._timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"LateClient(base_url={self.base_url!r})"

    __str__ = __repr__

    # --- transport ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One request to the API; transport failures come out classified, replies are returned as-is."""
        url = f"{self.base_url}{path}"
        all_headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        all_headers.update(headers or {})
        try:
            return self._http.request(
                method, url, json=json, params=params, headers=all_headers, timeout=timeout or self._timeout
            )
        except httpx.HTTPError as exc:
            # `from None`: the httpx exception holds the request, and with it the Authorization header.
            raise provider_error(method, url, exc=exc, secret=self._api_key) from None

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON of a 2xx reply (207 included), or the classified error."""
        method, url = response.request.method, str(response.request.url)
        if not 200 <= response.status_code < 300:
            raise provider_error(method, url, response=response, secret=self._api_key)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # The request was accepted but the reply is unreadable: a write may have happened.
            cls = ProviderNotSent if method in _SAFE_METHODS else ProviderMaybeSent
            raise cls(
                "unreadable reply",
                provider=PROVIDER,
                method=method,
                url=url,
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
                body=redact(response.text, self._api_key),
            )
        return data

    def _post_of(self, data: dict[str, Any], response: httpx.Response, key: str = "post") -> PostOutcome:
        post = data.get(key)
        if not isinstance(post, dict):
            cls = ProviderNotSent if response.request.method in _SAFE_METHODS else ProviderMaybeSent
            raise cls(
                f"reply has no `{key}`",
                provider=PROVIDER,
                method=response.request.method,
                url=str(response.request.url),
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return parse_outcome(post)

    # --- Provider -------------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        data = self._ok(self._send("GET", "/v1/accounts", params={"status": "connected"}))
        found = (parse_account(raw) for raw in data.get("accounts") or [] if isinstance(raw, dict))
        return [account for account in found if account is not None]

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        """Presign, then PUT the bytes to the storage URL (no Authorization there); return publicUrl."""
        grant = self._ok(
            self._send("POST", "/v1/media/presign", json={"filename": filename, "contentType": content_type})
        )
        upload_url, public_url = grant.get("uploadUrl"), grant.get("publicUrl")
        if not isinstance(upload_url, str) or not isinstance(public_url, str):
            raise ProviderRejected("presign reply lacks uploadUrl/publicUrl", provider=PROVIDER)
        try:
            response = self._http.put(
                upload_url, content=data, headers={"Content-Type": content_type}, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise provider_error("PUT", upload_url, exc=exc, secret=self._api_key) from None
        if not 200 <= response.status_code < 300:
            raise provider_error("PUT", upload_url, response=response, secret=self._api_key)
        return public_url

    def create(self, request: PostRequest) -> PostOutcome:
        body = post_body(request)
        response = self._send(
            "POST",
            "/v1/posts",
            json=body,
            headers={"x-request-id": request_id_for(request.post_key)},
            timeout=self._timeout if request.scheduled_at is not None else self._publish_timeout,
        )
        if response.status_code == 409:
            details = _json_or_empty(response).get("details")
            existing = details.get("existingPostId") if isinstance(details, dict) else None
            if isinstance(existing, str) and existing:
                return self.get(existing)  # duplicate content: the post already exists
        data = self._ok(response)
        # A replay of the same x-request-id answers 200 with the original in `existingPost`.
        return self._post_of(data, response, "existingPost" if "existingPost" in data else "post")

    def lookup(self, post_key: str) -> PostOutcome | None:
        """The most recent posts, newest first, searched for metadata.postdeck_post_key (bounded)."""
        for page in range(1, LOOKUP_MAX_PAGES + 1):
            params = {"page": page, "limit": LOOKUP_PAGE_SIZE, "sortBy": "created-desc"}
            data = self._ok(self._send("GET", "/v1/posts", params=params))
            posts = [p for p in data.get("posts") or [] if isinstance(p, dict)]
            for post in posts:
                metadata = post.get("metadata")
                if isinstance(metadata, dict) and metadata.get(POST_KEY_FIELD) == post_key:
                    return parse_outcome(post)
            pagination = data.get("pagination") or {}
            pages = pagination.get("pages") if isinstance(pagination, dict) else None
            if not posts or (isinstance(pages, int) and page >= pages):
                break
        return None

    def get(self, provider_post_id: str) -> PostOutcome:
        response = self._send("GET", f"/v1/posts/{provider_post_id}")
        return self._post_of(self._ok(response), response)

    def cancel(self, provider_post_id: str) -> None:
        self._ok(self._send("DELETE", f"/v1/posts/{provider_post_id}"))

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        """Replace a draft/scheduled/failed post's content and time (isDraft:false promotes a draft)."""
        body = post_body(request)
        if "scheduledFor" in body:
            body["isDraft"] = False
        response = self._send(
            "PUT",
            f"/v1/posts/{provider_post_id}",
            json=body,
            timeout=self._timeout if request.scheduled_at is not None else self._publish_timeout,
        )
        return self._post_of(self._ok(response), response)

    def retry(self, provider_post_id: str) -> PostOutcome:
        """Retry a failed or partial post now (synchronous, like publishNow; 207 if still not all done)."""
        response = self._send("POST", f"/v1/posts/{provider_post_id}/retry", timeout=self._publish_timeout)
        return self._post_of(self._ok(response), response)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()


__all__ = [
    "DEFAULT_BASE_URL",
    "LateClient",
    "media_type",
    "parse_account",
    "parse_outcome",
    "post_body",
    "provider_error",
    "request_id_for",
]
