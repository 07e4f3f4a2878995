"""The HTTP plumbing both provider clients share: one pooled httpx.Client, the key in one header,
timeouts on every request, the client-side rate limiter, and every failure turned into a classified
ProviderError (providers.failures) that keeps method, URL, status and request id — never the key,
the request object or its headers. ApiClient is what the two clients (PostForMeClient, LateClient)
build on: where the key and base URL come from, the limiter, the transport and the upload cache.

No retries happen here, ever: httpx's transport is built with retries=0 and nothing loops. Whether
a failed call may be repeated is the chain's decision, made from the error's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from postdeck.errors import CredentialsError
from postdeck.providers.errors import ERROR_CLASSES, ProviderError, redact
from postdeck.providers.failures import classify
from postdeck.providers.media import UploadCache, key_fingerprint
from postdeck.providers.ratelimit import RateHeaders, RateLimiter, Window, limiter_for, observe, wait_hint
from postdeck.settings import settings

# Connections are pooled per client; a pool wait longer than this is a PoolTimeout (not sent).
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)


@dataclass(frozen=True)
class ErrorInfo:
    """What a vendor's error body says, in a shape classify() understands."""

    message: str
    code: str | None = None
    platforms: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def new_http_client(timeout: httpx.Timeout) -> httpx.Client:
    """A pooled client with no automatic retries and no redirects (a redirect could drop the key or
    replay a POST as a GET)."""
    return httpx.Client(
        timeout=timeout,
        transport=httpx.HTTPTransport(retries=0, limits=DEFAULT_LIMITS),
        follow_redirects=False,
    )


def without_query(url: str) -> str:
    """A URL fit for an error message: signed upload URLs carry their token in the query."""
    return url.split("?", 1)[0]


class ApiTransport:
    def __init__(
        self,
        *,
        provider: str,
        api_key: str,
        base_url: str,
        timeout: httpx.Timeout,
        http_client: httpx.Client | None,
        limiter: RateLimiter | None,
        rate_headers: Callable[[Mapping[str, str]], RateHeaders],
        describe: Callable[[httpx.Response], ErrorInfo],
        request_id_header: str | None = None,
    ) -> None:
        self.provider = provider
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._owns_http = http_client is None
        self.http = http_client or new_http_client(timeout)
        self.limiter = limiter
        self._rate_headers = rate_headers
        self._describe = describe
        self._request_id_header = request_id_header

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # --- requests ------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One API request. Transport failures come out classified; any reply is returned as is."""
        url = self.base_url + path
        all_headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        all_headers.update(headers or {})
        # The request holds its slot until answered (RateLimiter.slot): it counts from the answer.
        with self.limiter.slot() if self.limiter is not None else nullcontext():
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=all_headers,
                    timeout=timeout or self.timeout,
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                # `from None`: the httpx exception holds the request, and with it the Authorization header.
                raise self.exception_error(method, url, exc) from None
        if self.limiter is not None:
            observe(self.limiter, self._rate_headers(response.headers), throttled=response.status_code == 429)
        return response

    def json(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx reply (207 included), or the classified error of the reply."""
        if not response.is_success:
            raise self.response_error(response)
        try:
            return response.json()
        except ValueError:
            raise self.unreadable_error(response, "the reply is not JSON") from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.json(self.send(method, path, **kwargs))

    def put_signed(self, url: str, data: bytes, content_type: str) -> None:
        """PUT bytes to a presigned storage URL: no API key goes with it, and no rate limit applies."""
        try:
            response = self.http.put(
                url, content=data, headers={"Content-Type": content_type}, timeout=self.timeout
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self.exception_error("PUT", without_query(url), exc) from None
        if not response.is_success:
            raise self.response_error(response, url=without_query(url))

    # --- errors --------------------------------------------------------------------------------

    def _request_id(self, response: httpx.Response) -> str | None:
        for name in (self._request_id_header, "x-request-id"):
            if name and response.headers.get(name):
                return response.headers[name]
        return None

    def exception_error(self, method: str, url: str, exc: BaseException) -> ProviderError:
        verdict = classify(method=method, exc=exc)
        detail = str(exc)
        message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return ERROR_CLASSES[verdict.kind](
            redact(message, self._key), provider=self.provider, method=method, url=without_query(url)
        )

    def response_error(self, response: httpx.Response, *, url: str | None = None) -> ProviderError:
        method = response.request.method
        info = self._describe(response)
        verdict = classify(method=method, status=response.status_code, code=info.code, message=info.message)
        retry_after = None
        if response.status_code == 429:
            retry_after = wait_hint(self._rate_headers(response.headers))
        return ERROR_CLASSES[verdict.kind](
            redact(info.message, self._key),
            provider=self.provider,
            method=method,
            url=url or without_query(str(response.request.url)),
            status=response.status_code,
            request_id=self._request_id(response),
            body=redact(response.text, self._key),
            retry_after=retry_after,
            provider_specific=verdict.portable,
            platforms=info.platforms,
            code=info.code,
        )

    def unreadable_error(self, response: httpx.Response, problem: str) -> ProviderError:
        """A 2xx we cannot use: the request arrived, so a write may have happened. No body kept: a
        reply may carry platform access tokens (PostForMe account objects do)."""
        method = response.request.method
        verdict = classify(method=method, unreadable=True)
        return ERROR_CLASSES[verdict.kind](
            f"unusable reply: {problem}",
            provider=self.provider,
            method=method,
            url=without_query(str(response.request.url)),
            status=response.status_code,
            request_id=self._request_id(response),
        )


class ApiClient:
    """The part of a provider client that is the same at every provider: the key (the argument, else
    the provider's environment variable), the base URL (likewise, else the real API), the rate limiter
    of that key (one per process, its budget shared by the machine's processes: providers.shared_rate),
    the ApiTransport every request goes through and the upload cache.
    `rate_limits` are the windows assumed (None: the provider's default), `time_scale` divides every
    window's seconds (a simulator enforcing the documented limits time-scaled); `limiter` replaces both.

    A subclass names its provider in the class attributes below and may adjust `_base_url`,
    `_default_windows` and `_setup` (its own state, built last)."""

    name: ClassVar[str]
    key_env: ClassVar[str]  # where the key is read when none is passed
    base_url_env: ClassVar[str]
    default_base_url: ClassVar[str]
    default_timeout: ClassVar[httpx.Timeout]
    missing_key: ClassVar[str]  # the CredentialsError when there is no key at all
    # staticmethod(...) in the subclass: plain functions of the reply. Not marked ClassVar: mypy would
    # take a ClassVar Callable for a method, bound to the instance that reads it (python/mypy#708).
    rate_headers: Callable[[Mapping[str, str]], RateHeaders]
    describe_error: Callable[[httpx.Response], ErrorInfo]
    request_id_header: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | None = None,
        rate_limits: Sequence[Window] | None = None,
        limiter: RateLimiter | None = None,
        time_scale: float | None = None,
    ) -> None:
        key = api_key or settings().get(self.key_env)
        if not key:
            raise CredentialsError(self.missing_key)
        self.base_url = self._base_url(base_url or settings().get(self.base_url_env) or self.default_base_url)
        # Which account this client speaks for, fit to store (the media cache): never the key itself.
        self.key_fingerprint = key_fingerprint(key)
        if limiter is None:
            windows = self._default_windows() if rate_limits is None else rate_limits
            limiter = limiter_for(f"{self.name}@{self.base_url}", key, windows, time_scale=time_scale)
        self._http = ApiTransport(
            provider=self.name,
            api_key=key,
            base_url=self.base_url,
            timeout=timeout or self.default_timeout,
            http_client=http_client,
            limiter=limiter,
            rate_headers=self.rate_headers,
            describe=self.describe_error,
            request_id_header=self.request_id_header,
        )
        self._uploads = UploadCache()
        self._setup(timeout)

    def _base_url(self, url: str) -> str:
        return url.rstrip("/")

    def _default_windows(self) -> Sequence[Window]:
        """The client-side limits when the caller names none."""
        return ()

    def _setup(self, timeout: httpx.Timeout | None) -> None:
        """The subclass's own state (`timeout` as the caller gave it, None if not)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    __str__ = __repr__

    @property
    def limiter(self) -> RateLimiter | None:
        return self._http.limiter

    def close(self) -> None:
        self._http.close()
