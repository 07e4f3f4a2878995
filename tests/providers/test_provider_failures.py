"""The one classification of provider failures, as tables, and errors that never carry the key."""

from __future__ import annotations

import pickle
import traceback

import httpx
import pytest

from postdeck.core.platform import Platform
from postdeck.providers.base import PostRequest, Target
from postdeck.providers.errors import (
    ERROR_CLASSES,
    FailureKind,
    ProviderError,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnsupported,
)
from postdeck.providers.failures import classify, portable_target_failure
from postdeck.providers.late import LateClient
from postdeck.providers.postforme import PostForMeClient
from postdeck.providers.ratelimit import RateLimiter

NOT_SENT, REJECTED, THROTTLED, MAYBE = (
    FailureKind.NOT_SENT,
    FailureKind.REJECTED,
    FailureKind.THROTTLED,
    FailureKind.MAYBE_SENT,
)

TRANSPORT = [
    # exception                               on a write   on a read
    (httpx.ConnectError("refused"), NOT_SENT, NOT_SENT),
    (httpx.ConnectTimeout("slow"), NOT_SENT, NOT_SENT),
    (httpx.PoolTimeout("busy"), NOT_SENT, NOT_SENT),
    (httpx.UnsupportedProtocol("ftp"), NOT_SENT, NOT_SENT),
    (httpx.LocalProtocolError("bad header"), NOT_SENT, NOT_SENT),
    (httpx.ReadTimeout("late"), MAYBE, NOT_SENT),
    (httpx.WriteTimeout("stuck"), MAYBE, NOT_SENT),
    (httpx.ReadError("reset by peer"), MAYBE, NOT_SENT),
    (httpx.WriteError("broken pipe"), MAYBE, NOT_SENT),
    (httpx.RemoteProtocolError("peer closed"), MAYBE, NOT_SENT),
    (ConnectionResetError("unexpected"), MAYBE, NOT_SENT),
]


@pytest.mark.parametrize(("exc", "write", "read"), TRANSPORT, ids=lambda v: type(v).__name__)
def test_transport_failures(exc: BaseException, write: FailureKind, read: FailureKind) -> None:
    assert classify(method="POST", exc=exc).kind is write
    assert classify(method="PUT", exc=exc).kind is write
    assert classify(method="GET", exc=exc).kind is read


STATUSES = [
    # status, method, code, message, kind, portable
    (429, "POST", None, "", THROTTLED, False),
    (429, "GET", None, "", THROTTLED, False),
    (408, "POST", None, "", NOT_SENT, False),
    (500, "POST", None, "", MAYBE, False),  # PostForMe answers 500 after storing a post
    (502, "PUT", None, "", MAYBE, False),
    (503, "DELETE", None, "", MAYBE, False),
    (500, "GET", None, "", NOT_SENT, False),
    (401, "GET", None, "Invalid or expired token", REJECTED, True),
    (402, "POST", "PAYMENT_REQUIRED", "", REJECTED, True),
    (403, "POST", None, "Forbidden", REJECTED, True),  # LATE: the account is not this key's
    (403, "POST", "ACCOUNT_DISCONNECTED", "", REJECTED, True),
    (403, "POST", "PROFILE_OVER_LIMIT", "", REJECTED, True),
    (403, "POST", "PLATFORM_BETA_RESTRICTED", "", REJECTED, False),
    (400, "POST", None, "Invalid Request: invalid social accounts, not owned by user", REJECTED, True),
    (400, "POST", "ACCOUNT_NOT_FOUND", "Account 65f not found", REJECTED, True),
    (400, "POST", None, "Invalid Request: caption is required", REJECTED, False),
    (400, "POST", None, "media URL cannot use IP addresses: http://10.0.0.1/a.png", REJECTED, False),
    (409, "POST", "DUPLICATE_CONTENT", "already posted", REJECTED, False),
    (404, "GET", None, "Post not found", REJECTED, False),
    (413, "PUT", None, "too large", REJECTED, False),
]


@pytest.mark.parametrize(("status", "method", "code", "message", "kind", "portable"), STATUSES)
def test_status_replies(
    status: int, method: str, code: str | None, message: str, kind: FailureKind, portable: bool
) -> None:
    verdict = classify(method=method, status=status, code=code, message=message)
    assert (verdict.kind, verdict.portable) == (kind, portable)


def test_an_unreadable_2xx_may_have_written() -> None:
    assert classify(method="POST", unreadable=True).kind is MAYBE
    assert classify(method="GET", unreadable=True).kind is NOT_SENT
    with pytest.raises(ValueError):
        classify(method="GET")


TARGETS = [
    # LATE errorCategory, message, portable
    ("auth_expired", "token expired", True),
    ("account_issue", "account disconnected", True),
    ("quota_exhausted", "daily quota", True),
    ("user_content", "too long", False),
    ("platform_rejected", "media type not supported", False),
    ("platform_error", "timeout at X", False),  # may have posted: never again elsewhere
    ("system_error", "", False),
    ("unknown", "access token expired", False),  # a category decides, not words
    # PostForMe: a message only
    (None, "x: access token expired or revoked, please reconnect the social account", True),
    (None, "The account is disconnected", True),
    (None, "Unauthorized: invalid credentials", True),
    (None, "All media failed to process, please check media URLS", False),
    (None, "tiktok: the platform refused the post", False),
    (None, None, False),
]


@pytest.mark.parametrize(("category", "message", "portable"), TARGETS)
def test_one_failed_platform_fails_over_only_for_the_connection(
    category: str | None, message: str | None, portable: bool
) -> None:
    assert portable_target_failure(category, message) is portable


def test_each_kind_has_its_class() -> None:
    assert {kind: cls.kind for kind, cls in ERROR_CLASSES.items()} == {k: k for k in FailureKind}
    assert ProviderUnsupported.kind is REJECTED and issubclass(ProviderUnsupported, ProviderRejected)


# --- the key never travels with an error -----------------------------------------------------------

KEY = "sk_test_0123456789abcdefSECRET"


def replies() -> list[httpx.Response | Exception]:
    echo = {"error": f"bad key {KEY}", "message": f"Bearer {KEY}"}
    return [
        httpx.Response(401, json=echo),
        httpx.Response(400, json={**echo, "errors": [f"token {KEY}"]}),
        httpx.Response(403, json={**echo, "code": "ACCOUNT_DISCONNECTED", "platform": "twitter"}),
        httpx.Response(429, json=echo, headers={"Retry-After": "3"}),
        httpx.Response(500, json=echo),
        httpx.Response(201, text=f"not json {KEY}"),
        httpx.ConnectError(f"refused while sending Authorization: Bearer {KEY}"),
        httpx.ReadTimeout(f"timed out {KEY}"),
        httpx.RemoteProtocolError(f"closed {KEY}"),
    ]


@pytest.mark.parametrize("client_class", [PostForMeClient, LateClient])
@pytest.mark.parametrize("reply", replies(), ids=lambda r: getattr(r, "status_code", type(r).__name__))
def test_no_error_carries_the_key_in_str_repr_or_pickle(client_class, reply) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"  # it is sent, and only there
        if isinstance(reply, Exception):
            raise reply
        return reply

    http = httpx.Client(transport=httpx.MockTransport(answer))
    # A limiter of its own: the 429 case pauses its key, and the next case must not wait for it.
    client = client_class(
        api_key=KEY, base_url="https://api.example.test", http_client=http, limiter=RateLimiter(())
    )
    request = PostRequest("pk", "hi", (Target(Platform.TWITTER, "acc", "hi"),))
    with pytest.raises(ProviderError) as caught:
        client.create(request)
    error = caught.value
    # What Prefect stores of a failed task: the formatted exception (chained ones suppressed) and a pickle.
    formatted = "".join(traceback.format_exception(error))
    texts = [str(error), repr(error), error.body, error.url, error.message, repr(error.args), formatted]
    blob = pickle.dumps(error)
    assert all(KEY not in text for text in texts) and KEY.encode() not in blob
    restored = pickle.loads(blob)
    assert type(restored) is type(error) and restored.fields() == error.fields()
    assert error.method == "POST" and error.url.startswith("https://api.example.test/")
    assert KEY not in repr(client) and KEY not in str(client)


@pytest.mark.parametrize("cls", [*ERROR_CLASSES.values(), ProviderUnsupported])
def test_every_error_class_pickles_without_secrets(cls: type[ProviderError]) -> None:
    error = cls(
        f"failed with Bearer {KEY}",
        provider="late",
        method="POST",
        url=f"https://zernio.com/api/v1/posts?token={KEY}",
        status=500,
        request_id="rid-1",
        body=f'{{"error": "{KEY}"}}',
        retry_after=2.0,
        provider_specific=True,
        platforms=("twitter",),
        code="X",
    )
    blob = pickle.dumps(error)
    assert KEY.encode() not in blob and KEY not in str(error) and KEY not in repr(error)
    again = pickle.loads(blob)
    assert type(again) is cls and again.fields() == error.fields() and str(again) == str(error)
    assert "rid-1" in str(again) and "HTTP 500" in str(again)


def test_specific_classes_for_the_four_kinds() -> None:
    assert ProviderNotSent.kind is NOT_SENT and ProviderThrottled.kind is THROTTLED
    assert ProviderMaybeSent.kind is MAYBE and ProviderRejected.kind is REJECTED
