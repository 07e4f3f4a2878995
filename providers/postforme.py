"""Post for Me client: postdeck's Provider protocol over api.postforme.dev (reference §1).

Plain httpx, no SDK: one request per call, no automatic retries (a retried create would post twice;
the chain decides what to do from the error kind), timeouts on every request.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

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

DEFAULT_BASE_URL = "https://api.postforme.dev"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
PAGE_LIMIT = 100  # the API's maximum
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Post for Me calls X `x`; tiktok_business accounts are TikTok to postdeck.
_TO_PFM = {p: ("x" if p is Platform.TWITTER else p.value) for p in Platform}
_FROM_PFM = {v: k for k, v in _TO_PFM.items()} | {"tiktok_business": Platform.TIKTOK}

# postdeck option (schemas/platform_options.py) → Post for Me platform_configurations field.
# Not mapped: facebook `page` and linkedin `organization` (at Post for Me a page or an organization is
# a connected account of its own).
_OPTION_FIELDS: dict[Platform, dict[str, str]] = {
    Platform.YOUTUBE: {"title": "title", "privacy": "privacy_status"},
    Platform.PINTEREST: {"link": "link"},
    Platform.INSTAGRAM: {"placement": "placement"},
    Platform.FACEBOOK: {"placement": "placement"},
}
# Post for Me's TikTok privacy is public|private (private = SELF_ONLY). Levels it cannot express go out
# private: narrower than asked, never wider.
_TIKTOK_PUBLIC = {"PUBLIC_TO_EVERYONE", "public"}

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_AFTER_SEND = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


def provider_error(
    method: str,
    url: str,
    *,
    response: httpx.Response | None = None,
    exc: Exception | None = None,
    problem: str | None = None,
    unsafe: bool = False,
    secret: str = "",
) -> ProviderError:
    """The one place that classifies a failed Post for Me call.

    `unsafe` marks requests that change state (create, update, delete): when they fail after the
    bytes left (read timeout, dropped connection, 5xx: PostForMe answers 500 after storing a post)
    the post may exist, so the chain must look it up. For reads the same failures are harmless.
    """
    where = {"provider": "postforme", "method": method, "url": url}
    if exc is not None:
        detail = str(exc)
        message = redact(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__, secret)
        if isinstance(exc, _NOT_SENT) or not isinstance(exc, _AFTER_SEND):
            return ProviderNotSent(f"could not reach Post for Me ({message})", **where)
        cls = ProviderMaybeSent if unsafe else ProviderNotSent
        return cls(f"no complete answer from Post for Me ({message})", **where)
    if problem is not None:  # a 2xx we could not use: the request did arrive
        cls = ProviderMaybeSent if unsafe else ProviderNotSent
        status = response.status_code if response is not None else None
        return cls(problem, **where, status=status, body=redact(response.text, secret) if response else "")
    assert response is not None
    status = response.status_code
    body = redact(response.text, secret)
    message = redact(_nest_message(response), secret)
    if status == 429:
        return ProviderThrottled(
            message, **where, status=status, body=body, retry_after=_retry_after(response)
        )
    if status >= 500:
        cls = ProviderMaybeSent if unsafe else ProviderNotSent
        return cls(message, **where, status=status, body=body)
    if status == 408:  # the server gave up waiting for the request: nothing was done
        return ProviderNotSent(message, **where, status=status, body=body)
    # A bad key or accounts that are not connected here: another provider may well succeed.
    own = status in (401, 403) or "invalid social accounts" in message
    return ProviderRejected(message, **where, status=status, body=body, provider_specific=own)


def _nest_message(response: httpx.Response) -> str:
    """Nest bodies: `message` (a string or a list) plus, for post validation, `errors[]`."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if not isinstance(data, dict):
        return str(data)[:200]
    message = data.get("message") or data.get("error") or response.reason_phrase
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        message = f"{message}: " + "; ".join(str(e) for e in errors)
    return str(message)


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("retry-after", "x-rate-limit-reset"):  # the reset header is seconds, not an epoch
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - datetime.now().astimezone()).total_seconds())
            except (TypeError, ValueError):
                continue
    return None


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("scheduled_at must be timezone-aware")
    return moment.isoformat()


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class PostForMeClient:
    """Provider `postforme`. Every method raises a providers.errors.ProviderError subclass."""

    name = "postforme"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        key = api_key or os.environ.get("POSTFORME_API_KEY")
        if not key:
            raise CredentialsError(
                "No Post for Me API key: pass api_key= to PostForMeClient or set the POSTFORME_API_KEY "
                "environment variable."
            )
        self._api_key = SecretStr(key)
        base = (base_url or os.environ.get("POSTFORME_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        # Paths carry /v1 themselves; accept a base copied from the docs with /v1 on the end.
        self.base_url = base.removesuffix("/v1")
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._owns_http = http_client is None
        # No transport retries: a create must never be re-sent behind the chain's back.
        self._http = http_client or httpx.Client(
            timeout=self._timeout, transport=httpx.HTTPTransport(retries=0)
        )
        self._platform_names: dict[str, str] = {}  # account id → Post for Me platform, from accounts()

    def __repr__(self) -> str:
        return f"PostForMeClient(base_url={self.base_url!r})"

    # --- HTTP ----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        unsafe: bool = False,
    ) -> Any:
        url = self.base_url + path
        secret = self._api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers=headers, timeout=self._timeout
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise provider_error(method, url, exc=exc, unsafe=unsafe, secret=secret) from None
        if not response.is_success:
            raise provider_error(method, url, response=response, unsafe=unsafe, secret=secret)
        try:
            return response.json()
        except ValueError:
            problem = "Post for Me answered with something other than JSON"
            raise provider_error(
                method, url, response=response, problem=problem, unsafe=unsafe, secret=secret
            ) from None

    def _expect(self, data: Any, *keys: str, method: str, path: str, unsafe: bool = False) -> dict[str, Any]:
        """The reply as a dict holding `keys`, or the error a malformed reply deserves."""
        if isinstance(data, dict) and all(k in data for k in keys):
            return data
        # No body in the error: a reply may carry platform access tokens.
        problem = f"unexpected reply from Post for Me (wanted {', '.join(keys)})"
        raise provider_error(method, self.base_url + path, problem=problem, unsafe=unsafe)

    # --- Provider ------------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        found: list[Account] = []
        offset = 0
        while True:
            # Offset arithmetic, not meta.next: `next` may carry the wrong scheme behind the proxy.
            params = {"status": "connected", "offset": offset, "limit": PAGE_LIMIT}
            page = self._expect(
                self._call("GET", "/v1/social-accounts", params=params),
                "data",
                "meta",
                method="GET",
                path="/v1/social-accounts",
            )
            items = (
                [i for i in page["data"] if isinstance(i, dict) and "id" in i]
                if isinstance(page["data"], list)
                else []
            )
            for item in items:
                platform = _FROM_PFM.get(item.get("platform", ""))
                if platform is None:
                    continue  # a platform postdeck does not publish to
                self._platform_names[item["id"]] = item["platform"]
                found.append(
                    Account(
                        provider=self.name,
                        id=item["id"],
                        platform=platform,
                        username=item.get("username") or "",
                        connected=item.get("status", "connected") == "connected",
                    )
                )
            offset += PAGE_LIMIT
            meta = page["meta"] if isinstance(page["meta"], dict) else {}
            if not items or offset >= int(meta.get("total") or 0):
                return found

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        path = "/v1/media/create-upload-url"
        # No body: the endpoint ignores one (the type comes with the PUT).
        urls = self._expect(self._call("POST", path), "upload_url", "media_url", method="POST", path=path)
        upload_url = urls["upload_url"]
        try:
            # A signed URL: no API key goes with it.
            response = self._http.put(
                upload_url, content=data, headers={"Content-Type": content_type}, timeout=self._timeout
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise provider_error("PUT", _without_query(upload_url), exc=exc) from None
        if not response.is_success:
            raise provider_error("PUT", _without_query(upload_url), response=response)
        return urls["media_url"]

    def create(self, request: PostRequest) -> PostOutcome:
        path = "/v1/social-posts"
        data = self._call("POST", path, json=self._post_body(request), unsafe=True)
        post = self._expect(data, "id", method="POST", path=path, unsafe=True)
        return self._created(post, request)

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        """Replace a not-yet-processed post (PUT re-creates it under the same id)."""
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        data = self._call("PUT", path, json=self._post_body(request), unsafe=True)
        post = self._expect(data, "id", method="PUT", path=path, unsafe=True)
        return self._created(post, request)

    def get(self, provider_post_id: str) -> PostOutcome:
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        post = self._expect(self._call("GET", path), "id", "status", method="GET", path=path)
        return self._outcome(post)

    def lookup(self, post_key: str) -> PostOutcome | None:
        path = "/v1/social-posts"
        params = {"external_id": post_key, "limit": PAGE_LIMIT}
        page = self._expect(self._call("GET", path, params=params), "data", method="GET", path=path)
        # external_id is not unique at Post for Me, and the server splits filters on commas: keep exact
        # matches only, newest first.
        matches = [p for p in page["data"] if isinstance(p, dict) and p.get("external_id") == post_key]
        if not matches:
            return None
        newest = max(matches, key=lambda p: _parse_time(p.get("created_at")) or _EPOCH)
        return self._outcome(newest)

    def cancel(self, provider_post_id: str) -> None:
        path = f"/v1/social-posts/{quote(provider_post_id, safe='')}"
        reply = self._expect(self._call("DELETE", path, unsafe=True), "success", method="DELETE", path=path)
        if reply["success"] is not True:  # the service reports a failed delete this way: nothing deleted
            raise provider_error(
                "DELETE", self.base_url + path, problem="Post for Me could not delete the post"
            )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # --- translation ---------------------------------------------------------------------------

    def _pfm_platform(self, target: Target) -> str:
        return self._platform_names.get(target.account_id) or _TO_PFM[target.platform]

    def _post_body(self, request: PostRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "caption": request.caption,
            "social_accounts": [t.account_id for t in request.targets],
            "external_id": request.post_key,
        }
        if request.media_urls:
            body["media"] = [{"url": url} for url in request.media_urls]
        if request.scheduled_at is not None:
            body["scheduled_at"] = _iso(request.scheduled_at)
        per_platform: dict[str, list[Target]] = {}
        for target in request.targets:
            per_platform.setdefault(self._pfm_platform(target), []).append(target)
        platform_configs: dict[str, dict[str, Any]] = {}
        account_configs: list[dict[str, Any]] = []
        for name, targets in per_platform.items():
            for target in targets:
                config = _configuration(target, request.caption)
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
        status = (
            TargetStatus.SCHEDULED if post.get("status") in ("scheduled", "draft") else TargetStatus.PENDING
        )
        return PostOutcome(
            provider=self.name,
            provider_post_id=post["id"],
            results=tuple(TargetResult(t.platform, t.account_id, status) for t in request.targets),
            scheduled_at=request.scheduled_at,
        )

    def _outcome(self, post: dict[str, Any]) -> PostOutcome:
        """A post as postdeck sees it; per-account results are read only once it is processed."""
        accounts = [a for a in post.get("social_accounts") or [] if isinstance(a, dict) and "id" in a]
        platforms = {a["id"]: _FROM_PFM.get(a.get("platform", "")) for a in accounts}
        status = post.get("status")
        rows: dict[str, list[dict[str, Any]]] = {}
        if status == "processed":
            for row in self._results(post["id"]):
                rows.setdefault(row.get("social_account_id", ""), []).append(row)
        results = []
        for account_id, platform in platforms.items():
            if platform is None:
                continue
            if status == "processed":
                results.append(_target_result(platform, account_id, rows.get(account_id, [])))
            else:
                waiting = TargetStatus.SCHEDULED if status in ("scheduled", "draft") else TargetStatus.PENDING
                results.append(TargetResult(platform, account_id, waiting))
        return PostOutcome(
            provider=self.name,
            provider_post_id=post["id"],
            results=tuple(results),
            scheduled_at=_planned_time(post),
        )

    def _results(self, post_id: str) -> list[dict[str, Any]]:
        path = "/v1/social-post-results"
        # Pages count posts, not result rows: with one post_id every row is on the first page.
        params = {"post_id": post_id, "limit": PAGE_LIMIT}
        page = self._expect(self._call("GET", path, params=params), "data", method="GET", path=path)
        return [r for r in page["data"] if isinstance(r, dict) and r.get("post_id", post_id) == post_id]


def _configuration(target: Target, shared_caption: str) -> dict[str, Any]:
    """A target's platform configuration: its own caption, plus the options Post for Me knows."""
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


def _target_result(platform: Platform, account_id: str, rows: list[dict[str, Any]]) -> TargetResult:
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
    error = row.get("error")
    return TargetResult(platform, account_id, TargetStatus.FAILED, error=str(error) if error else "failed")


def _planned_time(post: dict[str, Any]) -> datetime | None:
    """The post's planned time; None for immediate posts (whose scheduled_at is their creation time)."""
    scheduled, created = _parse_time(post.get("scheduled_at")), _parse_time(post.get("created_at"))
    if scheduled is None:
        return None
    if post.get("status") == "scheduled" or created is None or scheduled - created > timedelta(minutes=1):
        return scheduled
    return None


def _without_query(url: str) -> str:
    """A signed upload URL without its token, fit for an error message."""
    return url.split("?", 1)[0]
