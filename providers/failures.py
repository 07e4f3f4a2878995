"""The one place that decides what a failed provider call means for failover.

`classify` looks at what happened on the wire (a transport exception, a status, an unreadable 2xx)
and at the HTTP method, and answers one of four kinds:

- NOT_SENT    the request cannot have been processed: connect errors, pool timeouts, 408, and any
              failure of a read-only call (nothing changes on a GET). Failover is safe.
- REJECTED    the provider answered 4xx (not 408/429): the request was refused and nothing was done.
              `portable` says whether another provider could succeed where this one refused (bad key,
              payment, account not connected or not owned there) — never for content.
- THROTTLED   429: not processed; wait as told and retry the same provider.
- MAYBE_SENT  a write failed after its bytes left: read/write timeouts, resets, protocol errors, 5xx
              (PostForMe answers 500 after storing a post), or a 2xx we cannot read. Look it up first.

`portable_target_failure` does the same for one platform of a post that failed at the provider.
Both are tested as tables (tests/providers/test_provider_failures.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from postdeck.providers.errors import FailureKind

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Raised before a single byte of the request reached the provider.
_NOT_SENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.ProxyError,
    httpx.InvalidURL,
)

# Rejections another provider may not share: the key, the plan, or the account at *this* provider.
_PORTABLE_STATUSES = frozenset({401, 402})  # bad key; this provider's plan or payment
_PORTABLE_CODES = frozenset(
    {
        "ACCOUNT_DISCONNECTED",
        "ACCOUNT_NOT_FOUND",
        "PROFILE_OVER_LIMIT",
        "PAYMENT_REQUIRED",
        "UNAUTHORIZED",
        "insufficient_permissions",
        "unclassified_resource",
    }
)
_PORTABLE_MESSAGES = re.compile(r"invalid social accounts|not owned by user|account .* not found", re.I)


@dataclass(frozen=True)
class Verdict:
    kind: FailureKind
    portable: bool = False  # only meaningful for REJECTED


def classify(
    *,
    method: str,
    status: int | None = None,
    exc: BaseException | None = None,
    unreadable: bool = False,
    code: str | None = None,
    message: str = "",
) -> Verdict:
    """What a failed call means. Exactly one of `exc`, `status` (non-2xx) or `unreadable` is given."""
    writes = method.upper() in WRITE_METHODS
    after_send = FailureKind.MAYBE_SENT if writes else FailureKind.NOT_SENT
    if exc is not None:
        if isinstance(exc, _NOT_SENT_EXCEPTIONS):
            return Verdict(FailureKind.NOT_SENT)
        # Read/write timeouts, resets, a dropped connection, anything unexpected: the provider may
        # have received the whole request.
        return Verdict(after_send)
    if unreadable:
        return Verdict(after_send)  # it answered 2xx: the request did arrive
    if status is None:
        raise ValueError("classify needs an exception, a status or unreadable=True")
    if status == 429:
        return Verdict(FailureKind.THROTTLED)
    if status == 408:  # the server gave up waiting for the request: nothing was done
        return Verdict(FailureKind.NOT_SENT)
    if status >= 500:
        return Verdict(after_send)
    portable = (
        status in _PORTABLE_STATUSES
        # 403 without a code: the account is not this key's (LATE); a named code must be one of ours.
        or (status == 403 and code is None)
        or (code is not None and code in _PORTABLE_CODES)
        or bool(_PORTABLE_MESSAGES.search(message))
    )
    return Verdict(FailureKind.REJECTED, portable=portable)


# --- one platform of a post ---------------------------------------------------------------------

# LATE errorCategory values meaning "refused before anything was posted, for a reason of this
# provider's": its token for the account, the account's state there, its quota.
_PORTABLE_CATEGORIES = frozenset({"auth_expired", "account_issue", "quota_exhausted"})
# PostForMe gives only a message: these words mean the account's connection, not the content.
_ACCOUNT_WORDS = re.compile(
    r"access token|refresh token|token (?:has )?expired|reconnect|disconnected|not connected|"
    r"unauthori[sz]ed|invalid credentials|revoked",
    re.I,
)


def portable_target_failure(category: str | None, message: str | None) -> bool:
    """Could another provider post this platform where this one failed it? Only when the failure is
    clearly about this provider's connection to the account: such a post was never attempted on the
    platform, so sending it elsewhere cannot duplicate it. Content refusals, platform errors and
    anything unclear stay failed (a "failed" that actually went out must never be sent twice)."""
    if category:
        return category in _PORTABLE_CATEGORIES
    return bool(message and _ACCOUNT_WORDS.search(message))
