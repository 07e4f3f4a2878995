"""The LATE client (the vendor is now called Zernio; postdeck keeps the name LATE).

Speaks the wire format of reference §2 (bodies and replies: providers.late_wire) through
providers.transport, with no automatic retries: a create is sent once, and every failure is
classified so the chain knows whether the post may exist.

Idempotency. LATE has two guards, and postdeck uses both plus a third of its own:
* the `x-request-id` header (a UUID; a replay within ~5 minutes returns the original post). postdeck's
  post keys are not UUIDs, so the header carries `request_id_for(post_key)`, a UUIDv5 of the key under
  a fixed namespace: the same post key always gives the same request id;
* the 24-hour duplicate-content check (409 with `details.existingPostId`): adopted as "already created"
  when that post carries our post key, a content rejection otherwise;
* `metadata.postdeck_post_key`, which LATE stores and echoes: `lookup` pages through the posts, newest
  created first, back to the first attempt (`since`), because LATE cannot filter by request id and a
  replay after the 5-minute window would post twice. A search cut off by its page cap before that says
  ProviderLookupIncomplete, never "absent".

Timeouts: `publishNow` runs the whole cross-platform publish inside the request (a Threads publish was
measured at 222 s), so creates, updates and retries that publish now wait up to 300 s for the reply,
as the vendor's SDK does; every other call 30 s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from postdeck.core.platform import Platform
from postdeck.providers.base import (
    Account,
    ConnectLink,
    PostOutcome,
    PostPage,
    PostRequest,
)
from postdeck.providers.errors import (
    ProviderError,
    ProviderLookupIncomplete,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
)
from postdeck.providers.late_wire import (
    POST_KEY_FIELD,
    PROVIDER,
    created_at,
    describe_error,
    json_or_empty,
    media_type,
    parse_account,
    parse_outcome,
    post_body,
)
from postdeck.providers.media import sniff_content_type
from postdeck.providers.ratelimit import LATE_WINDOWS, Window, late_rate_headers
from postdeck.providers.transport import ApiClient

DEFAULT_BASE_URL = "https://zernio.com/api"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)
PUBLISH_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=300.0, pool=10.0)
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 10
# Posts created this long before a lookup's `since` are still searched: LATE's clock is not ours.
LOOKUP_SINCE_MARGIN = timedelta(minutes=30)
# Fixed forever: changing it would change every request id derived from a post key.
REQUEST_ID_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5e07-9c61-2b7f0d5a9e43")


def request_id_for(post_key: str) -> str:
    """The x-request-id sent for a post key: a UUIDv5, stable across retries and processes."""
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, post_key))


class LateClient(ApiClient):
    """postdeck's Provider for LATE / Zernio. The API key never leaves the Authorization header.

    LateClient(api_key=None, base_url=None, http_client=None, timeout=None, rate_limits=None,
    limiter=None, time_scale=None): the key defaults to LATE_API_KEY, the base URL to LATE_BASE_URL,
    then the real API (see providers.transport.ApiClient)."""

    name = PROVIDER
    key_env = "LATE_API_KEY"
    base_url_env = "LATE_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    default_timeout = DEFAULT_TIMEOUT
    missing_key = (
        "No LATE API key: pass api_key= (e.g. `postdeck credentials set`) "
        "or set the LATE_API_KEY environment variable."
    )
    rate_headers = staticmethod(late_rate_headers)
    describe_error = staticmethod(describe_error)
    request_id_header = "x-request-id"

    def _default_windows(self) -> Sequence[Window]:
        # LATE's limit depends on the account count: start at the lowest tier and let every
        # reply's X-RateLimit-Limit set the real one (a simulator says its own, too).
        return LATE_WINDOWS

    def _setup(self, timeout: httpx.Timeout | None) -> None:
        # A caller's timeout applies to every call, publishNow included.
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._publish_timeout = timeout or PUBLISH_TIMEOUT
        self._profile_id: str | None = None
        self._user_id: str | None = None

    def _post_of(self, data: Any, response: httpx.Response, key: str = "post") -> PostOutcome:
        post = data.get(key) if isinstance(data, dict) else None
        if not isinstance(post, dict):
            raise self._http.unreadable_error(response, f"the reply has no `{key}`")
        return parse_outcome(post)

    def _read(self, path: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._http.call("GET", path, params=params)
        if not isinstance(data, dict):
            raise ProviderNotSent(
                "unexpected reply", provider=PROVIDER, method="GET", url=self.base_url + path
            )
        return data

    # --- accounts and connections ---------------------------------------------------------------

    def accounts(
        self, *, platform: Platform | None = None, include_disconnected: bool = False
    ) -> list[Account]:
        params: dict[str, Any] = {}
        if not include_disconnected:
            params["status"] = "connected"
        if platform is not None:
            params["platform"] = platform.value
        data = self._read("/v1/accounts", params=params)
        found = (parse_account(raw) for raw in data.get("accounts") or [] if isinstance(raw, dict))
        return [
            account
            for account in found
            if account is not None
            and (include_disconnected or account.connected)
            and (platform is None or account.platform is platform)
        ]

    def profile_id(self) -> str:
        """The default profile (the one new connections go to)."""
        if self._profile_id is None:
            profiles = [p for p in self._read("/v1/profiles").get("profiles") or [] if isinstance(p, dict)]
            chosen = next((p for p in profiles if p.get("isDefault")), profiles[0] if profiles else None)
            if chosen is None or not chosen.get("_id"):
                raise ProviderRejected("LATE has no profile to connect accounts to", provider=PROVIDER)
            self._profile_id = str(chosen["_id"])
        return self._profile_id

    def connect_url(
        self, platform: Platform, *, redirect_url: str | None = None, external_id: str | None = None
    ) -> ConnectLink:
        """Profiles first (a connect URL needs a profileId), then `GET /connect/{platform}` → authUrl."""
        if platform is Platform.BLUESKY:
            raise ProviderRejected(
                "Bluesky has no OAuth: use connect_bluesky(handle, app_password)", provider=PROVIDER
            )
        params = {"profileId": self.profile_id()}
        if redirect_url:
            params["redirect_url"] = redirect_url
        data = self._read(f"/v1/connect/{quote(platform.value)}", params=params)
        if not isinstance(data.get("authUrl"), str):
            raise ProviderNotSent("the reply has no authUrl", provider=PROVIDER, url=self.base_url)
        return ConnectLink(PROVIDER, platform, data["authUrl"], state=data.get("state"))

    def connect_bluesky(self, handle: str, app_password: str, *, redirect_url: str | None = None) -> Account:
        """`POST /connect/bluesky/credentials` with state `{userId}-{profileId}` → the new account."""
        if self._user_id is None:
            users = self._read("/v1/users")
            current = users.get("currentUserId")
            if not isinstance(current, str):  # a one-person team lists only its owner
                listed = [u for u in users.get("users") or [] if isinstance(u, dict) and u.get("_id")]
                current = str(listed[0]["_id"]) if listed else None
            if not current:
                raise ProviderRejected("LATE did not say who the current user is", provider=PROVIDER)
            self._user_id = current
        body: dict[str, Any] = {
            "identifier": handle,
            "appPassword": app_password,
            "state": f"{self._user_id}-{self.profile_id()}",
        }
        if redirect_url:
            body["redirectUri"] = redirect_url
        data = self._http.call("POST", "/v1/connect/bluesky/credentials", json=body)
        raw = data.get("account") if isinstance(data, dict) else None
        account = parse_account(raw) if isinstance(raw, dict) and raw.get("_id") else None
        if account is None:
            raise ProviderNotSent("the reply has no account", provider=PROVIDER, url=self.base_url)
        return account

    # --- media ------------------------------------------------------------------------------------

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        """Presign, then PUT the bytes to the storage URL (no Authorization there); return publicUrl."""

        def put() -> str:
            kind = sniff_content_type(data, filename=filename, declared=content_type)
            grant = self._http.call(
                "POST",
                "/v1/media/presign",
                json={"filename": filename, "contentType": kind, "size": len(data)},
            )
            upload_url = grant.get("uploadUrl") if isinstance(grant, dict) else None
            public_url = grant.get("publicUrl") if isinstance(grant, dict) else None
            if not isinstance(upload_url, str) or not isinstance(public_url, str):
                raise ProviderNotSent("presign reply lacks uploadUrl/publicUrl", provider=PROVIDER)
            # The Content-Type is part of the signature: the PUT sends the one presigned.
            self._http.put_signed(upload_url, data, kind)
            return public_url

        return self._uploads.get_or_upload(data, put)

    # --- posts ----------------------------------------------------------------------------------

    def _timeout_for(self, request: PostRequest) -> httpx.Timeout:
        publishes_now = request.scheduled_at is None and not request.draft
        return self._publish_timeout if publishes_now else self._timeout

    def create(self, request: PostRequest) -> PostOutcome:
        response = self._http.send(
            "POST",
            "/v1/posts",
            json=post_body(request),
            headers={"x-request-id": request_id_for(request.post_key)},
            timeout=self._timeout_for(request),
        )
        if response.status_code == 409:
            existing = self._existing(response, request.post_key)
            if existing is not None:
                return existing
        data = self._http.json(response)
        # A replay of the same x-request-id answers 200 with the original in `existingPost`.
        key = "existingPost" if isinstance(data, dict) and "existingPost" in data else "post"
        return self._post_of(data, response, key)

    def _existing(self, response: httpx.Response, post_key: str) -> PostOutcome | None:
        """A 409 duplicate: our own post (a retry that raced the first create) is adopted; someone
        else's identical post is a content rejection, raised by the caller."""
        details = json_or_empty(response).get("details")
        existing = details.get("existingPostId") if isinstance(details, dict) else None
        if not isinstance(existing, str) or not existing:
            return None
        try:
            found = self.get(existing)
        except ProviderError as exc:
            # LATE says a post exists and it may be ours: never "not sent" (that would fail over).
            raise ProviderMaybeSent(
                f"LATE reports the content exists as post {existing}, which cannot be read: {exc.message}",
                provider=PROVIDER,
                method="POST",
                url=self.base_url + "/v1/posts",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None
        return found if found.post_key == post_key else None

    def lookup(self, post_key: str, *, since: datetime | None = None) -> PostOutcome | None:
        """The posts, newest created first, searched for metadata.postdeck_post_key: back to `since`
        (less a margin for the two clocks), or LOOKUP_MAX_PAGES pages when it is not known."""
        floor = since - LOOKUP_SINCE_MARGIN if since is not None else None
        for page in range(LOOKUP_MAX_PAGES):
            posts, more = self._page(page)
            for post in posts:
                metadata = post.get("metadata")
                if isinstance(metadata, dict) and metadata.get(POST_KEY_FIELD) == post_key:
                    return parse_outcome(post)
            if not more:
                return None  # the whole list searched
            oldest = created_at(posts[-1]) if posts else None
            if floor is not None and oldest is not None and oldest < floor:
                return None  # past the first attempt to create it: it cannot be further down
        # Not found is not "absent" here: a failover on this answer could post it twice.
        searched = LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE
        back_to = f"back to {floor.isoformat()}" if floor is not None else "to the end of the list"
        raise ProviderLookupIncomplete(
            f"post key {post_key} is not in the newest {searched} posts, and the search stopped there "
            f"before reaching {back_to}: whether it was created cannot be told",
            provider=PROVIDER,
            method="GET",
            url=self.base_url + "/v1/posts",
        )

    def _page(self, page: int) -> tuple[list[dict[str, Any]], bool]:
        """Page `page` (0 first) of all posts, newest created first, and whether more follow."""
        params = {"page": page + 1, "limit": LOOKUP_PAGE_SIZE, "sortBy": "created-desc"}
        data = self._read("/v1/posts", params=params)
        posts = [p for p in data.get("posts") or [] if isinstance(p, dict)]
        pagination = data.get("pagination") or {}
        pages = pagination.get("pages") if isinstance(pagination, dict) else None
        more = bool(posts) and (
            page + 1 < pages if isinstance(pages, int) else len(posts) >= LOOKUP_PAGE_SIZE
        )
        return posts, more

    def list_page(self, page: int) -> PostPage:
        posts, more = self._page(page)
        return PostPage(tuple(parse_outcome(p) for p in posts), more)

    def list_posts(self, *, status: str | None = None, limit: int = LOOKUP_PAGE_SIZE) -> list[PostOutcome]:
        params: dict[str, Any] = {"page": 1, "limit": min(max(limit, 1), 500), "sortBy": "created-desc"}
        if status:
            params["status"] = status
        data = self._read("/v1/posts", params=params)
        return [parse_outcome(p) for p in data.get("posts") or [] if isinstance(p, dict)]

    def get(self, provider_post_id: str) -> PostOutcome:
        response = self._http.send("GET", f"/v1/posts/{quote(provider_post_id, safe='')}")
        return self._post_of(self._http.json(response), response)

    def cancel(self, provider_post_id: str) -> None:
        self._http.call("DELETE", f"/v1/posts/{quote(provider_post_id, safe='')}")

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        """Replace a draft/scheduled/failed post's content and time (isDraft:false promotes a draft)."""
        body = post_body(request)
        if "scheduledFor" in body and not request.draft:
            body["isDraft"] = False
        response = self._http.send(
            "PUT",
            f"/v1/posts/{quote(provider_post_id, safe='')}",
            json=body,
            timeout=self._timeout_for(request),
        )
        return self._post_of(self._http.json(response), response)

    def retry(self, provider_post_id: str) -> PostOutcome:
        """Retry a failed or partial post now (synchronous, like publishNow; 207 if still not all done)."""
        response = self._http.send(
            "POST", f"/v1/posts/{quote(provider_post_id, safe='')}/retry", timeout=self._publish_timeout
        )
        return self._post_of(self._http.json(response), response)


__all__ = [
    "DEFAULT_BASE_URL",
    "LateClient",
    "describe_error",
    "media_type",
    "parse_account",
    "parse_outcome",
    "post_body",
    "request_id_for",
]
