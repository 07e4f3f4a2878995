"""Post for Me client: postdeck's Provider protocol over api.postforme.dev (reference §1).

Plain httpx through providers.transport: one request per call, no automatic retries (a retried
create would post twice; the chain decides from the error's kind), timeouts on every request, the
documented 5/s and 40/min limits kept client-side. Post for Me has no idempotency key: every create
carries the post key as `external_id`, and `lookup` searches for it. The pure parts of the wire
format (platform names, configurations, result rows, error bodies) are providers.postforme_wire.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
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
    Target,
    TargetResult,
    TargetStatus,
    without_tokens,
)
from postdeck.providers.errors import ProviderNotSent, ProviderRejected
from postdeck.providers.media import sniff_content_type
from postdeck.providers.postforme_wire import (
    FROM_PFM,
    TO_PFM,
    caption_of,
    configuration,
    describe_error,
    iso_time,
    parse_time,
    planned_time,
    target_result,
)
from postdeck.providers.ratelimit import POSTFORME_WINDOWS, Window, postforme_rate_headers
from postdeck.providers.transport import ApiClient

PROVIDER = "postforme"
DEFAULT_BASE_URL = "https://api.postforme.dev"
# Creates are asynchronous at Post for Me (the worker publishes later): 30 s is plenty for any call.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=10.0)
PAGE_LIMIT = 100  # the API's maximum
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PostForMeClient(ApiClient):
    """Provider `postforme`. Every method raises a providers.errors.ProviderError subclass.

    PostForMeClient(api_key=None, base_url=None, http_client=None, timeout=None, rate_limits=None,
    limiter=None, time_scale=None): the key defaults to POSTFORME_API_KEY, the base URL to
    POSTFORME_BASE_URL, then the real API (see providers.transport.ApiClient)."""

    name = PROVIDER
    key_env = "POSTFORME_API_KEY"
    base_url_env = "POSTFORME_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    default_timeout = DEFAULT_TIMEOUT
    missing_key = (
        "No Post for Me API key: pass api_key= to PostForMeClient or set the POSTFORME_API_KEY "
        "environment variable."
    )
    rate_headers = staticmethod(postforme_rate_headers)
    describe_error = staticmethod(describe_error)

    def _base_url(self, url: str) -> str:
        # Paths carry /v1 themselves; accept a base copied from the docs with /v1 on the end.
        return super()._base_url(url).removesuffix("/v1")

    def _default_windows(self) -> Sequence[Window]:
        # The documented limits belong to the real API; another host (a simulator) says its own
        # in its 429s, which the limiter honours either way.
        return POSTFORME_WINDOWS if self.base_url == DEFAULT_BASE_URL else ()

    def _setup(self, timeout: httpx.Timeout | None) -> None:
        self._platform_names: dict[str, str] = {}  # account id → Post for Me platform, from accounts()

    def _expect(self, data: Any, *keys: str, response_of: str) -> dict[str, Any]:
        """The reply as a dict holding `keys`, or the error a malformed reply deserves."""
        if isinstance(data, dict) and all(k in data for k in keys):
            return data
        raise ProviderNotSent(
            f"unexpected reply (wanted {', '.join(keys)})", provider=PROVIDER, url=self.base_url + response_of
        )

    def _write(self, method: str, path: str, *, json: Any = None) -> dict[str, Any]:
        """A state-changing call whose reply must be a post: a malformed 2xx may still have written."""
        response = self._http.send(method, path, json=json)
        data = self._http.json(response)
        if not isinstance(data, dict) or "id" not in data:
            raise self._http.unreadable_error(response, "the reply is not a post")
        return data

    # --- accounts and connections ---------------------------------------------------------------

    def accounts(
        self, *, platform: Platform | None = None, include_disconnected: bool = False
    ) -> list[Account]:
        found: list[Account] = []
        offset = 0
        while True:
            # Offset arithmetic, not meta.next: `next` may carry the wrong scheme behind the proxy.
            params: dict[str, Any] = {"offset": offset, "limit": PAGE_LIMIT}
            if not include_disconnected:
                params["status"] = "connected"
            if platform is not None:
                names = [TO_PFM[platform]] + (["tiktok_business"] if platform is Platform.TIKTOK else [])
                params["platform"] = names
            page = self._expect(
                self._http.call("GET", "/v1/social-accounts", params=params),
                "data",
                "meta",
                response_of="/v1/social-accounts",
            )
            items = (
                [i for i in page["data"] if isinstance(i, dict) and "id" in i]
                if isinstance(page["data"], list)
                else []
            )
            for item in items:
                account = self._account(item)
                if account is not None and (platform is None or account.platform is platform):
                    found.append(account)
            offset += PAGE_LIMIT
            meta = page["meta"] if isinstance(page["meta"], dict) else {}
            if not items or offset >= int(meta.get("total") or 0):
                return found

    def _account(self, item: dict[str, Any]) -> Account | None:
        platform = FROM_PFM.get(item.get("platform", ""))
        if platform is None:
            return None  # a platform postdeck does not publish to
        self._platform_names[item["id"]] = item["platform"]
        return Account(
            provider=PROVIDER,
            id=item["id"],
            platform=platform,
            username=item.get("username") or "",
            connected=item.get("status", "connected") == "connected",
            external_id=item.get("external_id"),
        )

    def connect_url(
        self, platform: Platform, *, redirect_url: str | None = None, external_id: str | None = None
    ) -> ConnectLink:
        """`POST /social-accounts/auth-url` → the provider's authorize URL (reply `{url, platform}`).

        redirect_url travels as `redirect_url_override`, which Post for Me refuses on Quickstart
        projects (their redirect is set in the dashboard)."""
        if platform is Platform.BLUESKY:
            raise ProviderRejected(
                "Bluesky has no OAuth: use connect_bluesky(handle, app_password)", provider=PROVIDER
            )
        return self._auth_url({"platform": TO_PFM[platform]}, platform, redirect_url, external_id)

    def connect_bluesky(
        self, handle: str, app_password: str, *, redirect_url: str | None = None
    ) -> ConnectLink:
        """Post for Me answers with its own callback URL carrying the handle; opening it connects."""
        body = {
            "platform": "bluesky",
            "platform_data": {"bluesky": {"handle": handle, "app_password": app_password}},
        }
        return self._auth_url(body, Platform.BLUESKY, redirect_url, None)

    def _auth_url(
        self, body: dict[str, Any], platform: Platform, redirect_url: str | None, external_id: str | None
    ) -> ConnectLink:
        if redirect_url:
            body["redirect_url_override"] = redirect_url
        if external_id:
            body["external_id"] = external_id
        path = "/v1/social-accounts/auth-url"
        reply = self._expect(self._http.call("POST", path, json=body), "url", response_of=path)
        if not reply["url"]:  # e.g. Bluesky without credentials: the server answers ""
            raise ProviderRejected(
                "Post for Me gave no connect URL", provider=PROVIDER, url=self.base_url + path
            )
        return ConnectLink(provider=PROVIDER, platform=platform, url=str(reply["url"]))

    # --- media ------------------------------------------------------------------------------------

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        """Signed upload URL, then PUT; the same bytes go up once per client."""

        def put() -> str:
            path = "/v1/media/create-upload-url"
            # No body: the endpoint ignores one (the type comes with the PUT).
            urls = self._expect(self._http.call("POST", path), "upload_url", "media_url", response_of=path)
            kind = sniff_content_type(data, filename=filename, declared=content_type)
            self._http.put_signed(urls["upload_url"], data, kind)
            return str(urls["media_url"])

        return self._uploads.get_or_upload(data, put)

    # --- posts ----------------------------------------------------------------------------------

    def create(self, request: PostRequest) -> PostOutcome:
        post = self._write("POST", "/v1/social-posts", json=self.post_body(request))
        return self._created(post, request)

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        """Replace a not-yet-processed post (PUT re-creates it under the same id)."""
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        post = self._write("PUT", path, json=self.post_body(request))
        return self._created(post, request)

    def get(self, provider_post_id: str) -> PostOutcome:
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        post = self._expect(self._http.call("GET", path), "id", "status", response_of=path)
        return self._outcome(post)

    def lookup(self, post_key: str, *, since: datetime | None = None) -> PostOutcome | None:
        # Filtered by external_id at the server: every match is on the first page, however old.
        path = "/v1/social-posts"
        params = {"external_id": post_key, "limit": PAGE_LIMIT}
        page = self._expect(self._http.call("GET", path, params=params), "data", response_of=path)
        # external_id is not unique at Post for Me, and the server splits filters on commas: keep exact
        # matches only, newest first.
        matches = [p for p in page["data"] if isinstance(p, dict) and p.get("external_id") == post_key]
        if not matches:
            return None
        newest = max(matches, key=lambda p: parse_time(p.get("created_at")) or _EPOCH)
        return self._outcome(newest)

    def list_posts(self, *, status: str | None = None, limit: int = PAGE_LIMIT) -> list[PostOutcome]:
        path = "/v1/social-posts"
        params: dict[str, Any] = {"limit": min(max(limit, 1), PAGE_LIMIT)}
        if status:
            params["status"] = status
        page = self._expect(self._http.call("GET", path, params=params), "data", response_of=path)
        return [self._outcome(p) for p in page["data"] if isinstance(p, dict) and "id" in p]

    def list_page(self, page: int) -> PostPage:
        path = "/v1/social-posts"
        offset = page * PAGE_LIMIT
        params = {"offset": offset, "limit": PAGE_LIMIT}
        reply = self._expect(self._http.call("GET", path, params=params), "data", "meta", response_of=path)
        items = (
            [p for p in reply["data"] if isinstance(p, dict) and "id" in p]
            if isinstance(reply["data"], list)
            else []
        )
        meta = reply["meta"] if isinstance(reply["meta"], dict) else {}
        # `total` is an estimate (§1.7): a full page always asks for the next one.
        more = bool(items) and (len(items) >= PAGE_LIMIT or offset + PAGE_LIMIT < int(meta.get("total") or 0))
        return PostPage(tuple(self._outcome(p) for p in items), more)

    def cancel(self, provider_post_id: str) -> None:
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        reply = self._expect(self._http.call("DELETE", path), "success", response_of=path)
        if reply["success"] is not True:  # the service reports a failed delete this way: nothing deleted
            raise ProviderRejected("Post for Me could not delete the post", provider=PROVIDER, url=path)

    # --- translation ---------------------------------------------------------------------------

    def _pfm_platform(self, target: Target) -> str:
        return self._platform_names.get(target.account_id) or TO_PFM[target.platform]

    def post_body(self, request: PostRequest) -> dict[str, Any]:
        """The create/replace body (strict: only fields of CreateSocialPostDto, none empty)."""
        body: dict[str, Any] = {
            "caption": request.caption,
            "social_accounts": [t.account_id for t in request.targets],
            "external_id": request.post_key,
        }
        if request.media_urls:
            body["media"] = [{"url": url} for url in request.media_urls]
        if request.scheduled_at is not None:
            body["scheduled_at"] = iso_time(request.scheduled_at)
        if request.draft:
            body["isDraft"] = True
        per_platform: dict[str, list[Target]] = {}
        for target in request.targets:
            per_platform.setdefault(self._pfm_platform(target), []).append(target)
        platform_configs: dict[str, dict[str, Any]] = {}
        account_configs: list[dict[str, Any]] = []
        for name, targets in per_platform.items():
            for target in targets:
                config = configuration(target, request.caption)
                if not config:
                    continue
                if len(targets) == 1:
                    platform_configs[name] = config
                else:  # two accounts on one platform: configure each account on its own
                    account_configs.append({"social_account_id": target.account_id, "configuration": config})
        if platform_configs:
            body["platform_configurations"] = platform_configs
        if account_configs:
            body["account_configurations"] = account_configs
        return body

    def _created(self, post: dict[str, Any], request: PostRequest) -> PostOutcome:
        """A just-created post: scheduled, or publishing (`processing`) until a later get()."""
        if post.get("status") == "processed":
            return self._outcome(post)
        status = post.get("status")
        waiting = TargetStatus.SCHEDULED if status in ("scheduled", "draft") else TargetStatus.PENDING
        results = []
        for t in request.targets:
            if status == "draft":
                results.append(
                    TargetResult(
                        t.platform, t.account_id, TargetStatus.FAILED, error="a draft: not published"
                    )
                )
            else:
                results.append(TargetResult(t.platform, t.account_id, waiting))
        return PostOutcome(
            provider=PROVIDER,
            provider_post_id=post["id"],
            results=tuple(results),
            scheduled_at=request.scheduled_at,
            post_key=post.get("external_id"),
            status=status,
            raw=without_tokens(post),
        )

    def _outcome(self, post: dict[str, Any]) -> PostOutcome:
        """A post as postdeck sees it; per-account results are read only once it is processed."""
        accounts = [a for a in post.get("social_accounts") or [] if isinstance(a, dict) and "id" in a]
        platforms = {a["id"]: FROM_PFM.get(a.get("platform", "")) for a in accounts}
        status = post.get("status")
        rows: dict[str, list[dict[str, Any]]] = {}
        if status == "processed":
            for row in self._results(post["id"]):
                rows.setdefault(row.get("social_account_id", ""), []).append(row)
        pfm_names = {a["id"]: a.get("platform", "") for a in accounts}
        results = []
        for account_id, platform in platforms.items():
            if platform is None:
                continue
            if status == "processed":
                result = target_result(platform, account_id, rows.get(account_id, []))
            elif status == "draft":
                result = TargetResult(
                    platform, account_id, TargetStatus.FAILED, error="a draft: not published"
                )
            else:
                waiting = TargetStatus.SCHEDULED if status == "scheduled" else TargetStatus.PENDING
                result = TargetResult(platform, account_id, waiting)
            caption = caption_of(post, account_id, pfm_names[account_id])
            results.append(dataclasses.replace(result, caption=caption))
        return PostOutcome(
            provider=PROVIDER,
            provider_post_id=post["id"],
            results=tuple(results),
            scheduled_at=planned_time(post),
            post_key=post.get("external_id"),
            status=status,
            raw=without_tokens(post),
        )

    def _results(self, post_id: str) -> list[dict[str, Any]]:
        path = "/v1/social-post-results"
        # Pages count posts, not result rows: with one post_id every row is on the first page.
        params = {"post_id": post_id, "limit": PAGE_LIMIT}
        page = self._expect(self._http.call("GET", path, params=params), "data", response_of=path)
        return [r for r in page["data"] if isinstance(r, dict) and r.get("post_id", post_id) == post_id]


__all__ = ["DEFAULT_BASE_URL", "FROM_PFM", "TO_PFM", "PostForMeClient", "configuration", "describe_error"]
