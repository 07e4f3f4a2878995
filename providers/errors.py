"""Provider errors, classified for failover (see postdeck.errors for the whole tree).

    ProviderError                 provider, method, url, status, request id, redacted body; never a key
    ├── ProviderNotSent           nothing reached the provider (connect error, pool timeout): failover is safe
    ├── ProviderRejected          refused (4xx other than 408/429); `provider_specific` if another provider
    │   │                         could succeed (bad key, account not connected there)
    │   └── ProviderUnsupported   the provider has no such operation (PostForMe retry)
    ├── ProviderThrottled         429: wait `retry_after`, then retry the same provider
    └── ProviderMaybeSent         the request may have been processed (read timeout, reset, 5xx on a write)

Which class a failure gets is decided in one place, providers.failures.classify.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from postdeck.errors import PostdeckError

_SECRETISH = re.compile(r"(Bearer\s+)\S+|\b(sk_|zrk_|pfm_|whsec_)[A-Za-z0-9_\-]+", re.IGNORECASE)


def redact(text: str, *secrets: str) -> str:
    """Remove bearer tokens, key-shaped strings and the given secrets from text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return _SECRETISH.sub(lambda m: (m.group(1) or "") + "<redacted>", text)


class FailureKind(StrEnum):
    NOT_SENT = "not_sent"
    REJECTED = "rejected"
    THROTTLED = "throttled"
    MAYBE_SENT = "maybe_sent"


class ProviderError(PostdeckError):
    """A provider call failed. Holds no request object or headers, and a redacted, shortened body."""

    kind: FailureKind = FailureKind.REJECTED

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        method: str = "",
        url: str = "",
        status: int | None = None,
        request_id: str | None = None,
        body: str = "",
        retry_after: float | None = None,
        # A rejection another provider might not share (account not connected here, bad key).
        provider_specific: bool = False,
        # Platforms the rejection is about (LATE 403 ACCOUNT_DISCONNECTED names one): the rest of
        # the post may still go to this provider.
        platforms: tuple[str, ...] = (),
        code: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.provider = provider
        self.method = method
        self.url = redact(url)
        self.status = status
        self.request_id = request_id
        self.body = redact(body)[:500]
        self.retry_after = retry_after
        self.provider_specific = provider_specific
        self.platforms = tuple(platforms)
        self.code = code
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status} " if self.status else ""
        where = f" ({self.method} {self.url})" if self.method else ""
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.provider}: {status}{self.message}{where}{rid}"

    def fields(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "request_id": self.request_id,
            "body": self.body,
            "retry_after": self.retry_after,
            "provider_specific": self.provider_specific,
            "platforms": self.platforms,
            "code": self.code,
        }

    def __reduce__(self):
        # Keyword-only construction must survive pickling (Prefect pickles failed tasks' errors).
        return (_rebuild_provider_error, (type(self), self.message, self.fields()))


def _rebuild_provider_error(cls: type[ProviderError], message: str, kwargs: dict) -> ProviderError:
    return cls(message, **kwargs)


class ProviderNotSent(ProviderError):
    kind = FailureKind.NOT_SENT


class ProviderRejected(ProviderError):
    kind = FailureKind.REJECTED


class ProviderUnsupported(ProviderRejected):
    """The provider has no such operation (e.g. PostForMe has no retry: create a new post)."""


class ProviderThrottled(ProviderError):
    kind = FailureKind.THROTTLED


class ProviderMaybeSent(ProviderError):
    kind = FailureKind.MAYBE_SENT


class ProviderLookupIncomplete(ProviderMaybeSent):
    """A lookup that could not search the provider's posts far enough back to say "not there": the
    post may exist, so it must not count as absent (no failover, the delivery stays unknown)."""


def every_failure(errors: list[ProviderError]) -> ProviderError:
    """One error saying what every provider tried answered (`postforme: …; late: …`): the first
    alone would say PostForMe was down when LATE was too. Of the first one's class."""
    if len(errors) == 1:
        return errors[0]
    first = errors[0]
    own = str(first).removeprefix(f"{first.provider}: ")  # its status, call and request id included
    rest = "; ".join(str(error) for error in errors[1:])
    return type(first)(f"{own}; {rest}", provider=first.provider, code=first.code)


ERROR_CLASSES: dict[FailureKind, type[ProviderError]] = {
    FailureKind.NOT_SENT: ProviderNotSent,
    FailureKind.REJECTED: ProviderRejected,
    FailureKind.THROTTLED: ProviderThrottled,
    FailureKind.MAYBE_SENT: ProviderMaybeSent,
}
