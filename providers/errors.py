"""Provider errors, classified for failover (see postdeck.errors for the whole tree).

Every provider failure is one of four kinds, and only the kind decides what the chain does next:
not sent (fail over), rejected (record; fail over only if another provider could succeed),
throttled (wait, retry the same provider) or maybe sent (look the post up before anything else).
"""

from __future__ import annotations

import re
from enum import StrEnum

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
    """A provider call failed. Holds no request headers and a redacted, shortened body."""

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
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status} " if self.status else ""
        where = f" ({self.method} {self.url})" if self.method else ""
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.provider}: {status}{self.message}{where}{rid}"

    def __reduce__(self):
        return (
            _rebuild_provider_error,
            (
                type(self),
                self.message,
                dict(
                    provider=self.provider,
                    method=self.method,
                    url=self.url,
                    status=self.status,
                    request_id=self.request_id,
                    body=self.body,
                    retry_after=self.retry_after,
                    provider_specific=self.provider_specific,
                ),
            ),
        )


def _rebuild_provider_error(cls: type[ProviderError], message: str, kwargs: dict) -> ProviderError:
    return cls(message, **kwargs)


class ProviderNotSent(ProviderError):
    kind = FailureKind.NOT_SENT


class ProviderRejected(ProviderError):
    kind = FailureKind.REJECTED


class ProviderThrottled(ProviderError):
    kind = FailureKind.THROTTLED


class ProviderMaybeSent(ProviderError):
    kind = FailureKind.MAYBE_SENT
