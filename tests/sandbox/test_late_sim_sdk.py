"""The LATE simulator, driven by the vendor's own SDK (`late-sdk`) over loopback.

The SDK parses replies into its pydantic models (generated from Zernio's OpenAPI spec). Its models
ignore unknown keys, so every check here also asserts that each key the simulator sends survives the
parse: a key the SDK drops would be a key the real API does not send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from late import Late
from late.client.exceptions import (
    LateAPIError,
    LateAuthenticationError,
    LateForbiddenError,
    LateNotFoundError,
)
from late.models import (
    AccountsListResponse,
    PostCreateResponse,
    PostDeleteResponse,
    PostGetResponse,
    PostRetryResponse,
    PostsListResponse,
    PostUpdateResponse,
    ProfilesListResponse,
    SocialAccount,
)
from late.models._generated.models import Post3, PostPublishIncompleteResponse, Status31
from pydantic import BaseModel

from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.late_app import SANDBOX_LATE_KEY, SIM_PLATFORMS, LateSim, create_app
from postdeck.sandbox.server import SandboxServer

# The vendor SDK's conformance, a server per test: left out of `make test-fast` (which does not even
# collect this file: importing the SDK's generated models is ~1 s of each xdist worker's start).
pytestmark = pytest.mark.slow

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


class RecordingLate(Late):
    """The SDK client, keeping the last raw JSON reply so tests can compare it with the parsed model."""

    last: Any = None

    def _handle_response(self, response: httpx.Response) -> dict[str, Any]:
        self.last_response = response
        self.last = super()._handle_response(response)
        return self.last


def dropped_keys(raw: Any, parsed: Any, path: str = "$") -> list[str]:
    """Keys of the raw reply that the parsed model does not carry (recursively)."""
    if isinstance(raw, dict) and isinstance(parsed, dict):
        missing = []
        for key, value in raw.items():
            if key not in parsed:
                missing.append(f"{path}.{key}")
            else:
                missing += dropped_keys(value, parsed[key], f"{path}.{key}")
        return missing
    if isinstance(raw, list) and isinstance(parsed, list):
        return [
            k
            for i, (r, p) in enumerate(zip(raw, parsed, strict=True))
            for k in dropped_keys(r, p, f"{path}[{i}]")
        ]
    return []


def assert_sdk_understands(raw: dict[str, Any], model: BaseModel) -> None:
    dump = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dropped_keys(raw, dump) == []


@pytest.fixture
def sim() -> LateSim:
    return LateSim()


@pytest.fixture
def server(sim: LateSim) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(sim)) as running:
        yield running


@pytest.fixture
def sdk(server: SandboxServer) -> RecordingLate:
    # max_retries=0 would send nothing at all (the SDK's loop runs max_retries times).
    return RecordingLate(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api", max_retries=1)


def account_ids(sdk: RecordingLate) -> dict[str, str]:
    return {a.platform.value: a.field_id for a in sdk.accounts.list().accounts}


def test_profiles_list_parses_with_a_default_profile(sdk: RecordingLate, sim: LateSim) -> None:
    reply = sdk.profiles.list()
    assert isinstance(reply, ProfilesListResponse)
    assert_sdk_understands(sdk.last, reply)
    (profile,) = reply.profiles
    assert profile.field_id == sim.profile["_id"] and OBJECT_ID.match(profile.field_id)
    assert profile.isDefault is True
    assert profile.createdAt is not None and profile.createdAt.tzinfo is not None


def test_accounts_list_has_one_connected_account_per_platform(sdk: RecordingLate, sim: LateSim) -> None:
    reply = sdk.accounts.list()
    assert isinstance(reply, AccountsListResponse)
    assert_sdk_understands(sdk.last, reply)
    assert reply.hasAnalyticsAccess is False
    assert sorted(a.platform.value for a in reply.accounts) == sorted(SIM_PLATFORMS)
    for account in reply.accounts:
        assert OBJECT_ID.match(account.field_id)
        assert account.isActive is True
        # The populated form of profileId, which clients must accept.
        assert not isinstance(account.profileId, str)
        assert account.profileId.field_id == sim.profile["_id"]
    twitter = next(a for a in reply.accounts if a.platform.value == "twitter")
    assert twitter.username == "postdeck_sandbox"


def test_accounts_status_filter_and_pagination_rules(sdk: RecordingLate, sim: LateSim) -> None:
    sim.set_connected("tiktok", False)
    connected = AccountsListResponse.model_validate(sdk.accounts.list_accounts(status="connected"))
    assert "tiktok" not in {a.platform.value for a in connected.accounts}
    assert len(connected.accounts) == len(SIM_PLATFORMS) - 1
    paged = AccountsListResponse.model_validate(sdk.accounts.list_accounts(page=1, limit=4))
    assert len(paged.accounts) == 4
    assert paged.pagination.total == len(SIM_PLATFORMS) and paged.pagination.pages == 3
    with pytest.raises(LateAPIError) as exc:
        sdk.accounts.list_accounts(limit=4)  # page and limit go together
    assert exc.value.status_code == 400


def test_connect_url_needs_a_profile(sdk: RecordingLate, sim: LateSim) -> None:
    reply = sdk.connect.get_connect_url(
        "twitter", sim.profile["_id"], redirect_url="https://example.com/done"
    )
    assert reply["authUrl"].startswith("http") and reply["state"]
    assert "url" not in reply  # the key is authUrl, not the outdated url
    back = httpx.get(reply["authUrl"])  # the sandbox's consent screen says yes at once
    assert back.status_code == 302
    location = httpx.URL(back.headers["location"])
    assert str(location).startswith("https://example.com/done?")
    assert set(location.params) == {"connected", "profileId", "accountId", "username"}
    assert location.params["accountId"] == sim.account("twitter")["_id"]
    with pytest.raises(LateAPIError) as exc:
        sdk.connect.get_connect_url("twitter", "")
    assert exc.value.status_code == 400 and exc.value.message == "profileId is required"


def test_presign_then_put_stores_the_bytes(sdk: RecordingLate, sim: LateSim) -> None:
    reply = sdk.media.get_media_presigned_url("clip one.mp4", "video/mp4", size=11)
    assert sdk.last_response.status_code == 200
    assert set(reply) == {"uploadUrl", "publicUrl", "key", "expiresIn"}
    assert reply["expiresIn"] == 3600
    assert reply["publicUrl"] == f"https://media.zernio.com/{reply['key']}"
    assert reply["key"].startswith("temp/") and reply["key"].endswith("_clip_one.mp4")
    put = httpx.put(reply["uploadUrl"], content=b"video bytes", headers={"Content-Type": "video/mp4"})
    assert put.status_code == 200
    assert sim.uploads[reply["key"]] == ("video/mp4", b"video bytes")
    # The signed URL binds the content type.
    wrong = httpx.put(reply["uploadUrl"], content=b"x", headers={"Content-Type": "image/png"})
    assert wrong.status_code == 403


def test_presign_rejects_a_content_type_outside_the_enum(sdk: RecordingLate) -> None:
    with pytest.raises(LateAPIError) as exc:
        sdk.media.get_media_presigned_url("notes.txt", "text/plain")
    assert exc.value.status_code == 400


def test_publish_now_create_parses_with_urls_per_platform(sdk: RecordingLate) -> None:
    ids = account_ids(sdk)
    reply = sdk.posts.create(
        content="Hello from the SDK",
        platforms=[
            {"platform": "twitter", "accountId": ids["twitter"], "customContent": "Hello X"},
            {"platform": "bluesky", "accountId": ids["bluesky"]},
        ],
        media_items=[{"type": "image", "url": "https://media.zernio.com/temp/1_a_pic.png"}],
        publish_now=True,
        metadata={"postdeck_post_key": "abc123"},
    )
    assert sdk.last_response.status_code == 201
    assert isinstance(reply, PostCreateResponse)
    assert_sdk_understands(sdk.last, reply)
    assert reply.message == "Post published successfully"
    post = reply.post
    assert OBJECT_ID.match(post.field_id)
    assert post.status == Status31.PUBLISHED
    assert post.metadata == {"postdeck_post_key": "abc123"}
    assert str(post.mediaItems[0].url) == "https://media.zernio.com/temp/1_a_pic.png"
    twitter, bluesky = post.platforms
    assert twitter.accountId == ids["twitter"] and twitter.customContent == "Hello X"
    assert twitter.status == "published" and twitter.publishedAt is not None
    assert re.fullmatch(r"https://twitter\.com/postdeck_sandbox/status/\d{19}", twitter.platformPostUrl)
    assert twitter.platformPostUrl.endswith(twitter.platformPostId)
    assert bluesky.platformPostUrl.startswith("https://bsky.app/profile/")


def test_scheduled_create_is_pending_until_the_tick(sdk: RecordingLate, sim: LateSim) -> None:
    ids = account_ids(sdk)
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    reply = sdk.posts.create(
        content="Later",
        platforms=[{"platform": "linkedin", "accountId": ids["linkedin"]}],
        scheduled_for=when,
    )
    assert_sdk_understands(sdk.last, reply)
    assert reply.message == "Post scheduled successfully"
    assert reply.post.status == Status31.SCHEDULED
    assert reply.post.scheduledFor == when
    assert [t.status for t in reply.post.platforms] == ["pending"]
    assert sim.tick() == 0
    sim.set_now(when + timedelta(seconds=1))
    assert sim.tick() == 1
    after = sdk.posts.get(reply.post.field_id).post
    assert after.status == Status31.PUBLISHED
    assert after.platforms[0].platformPostUrl.startswith("https://www.linkedin.com/feed/update/urn:li:share:")


def test_create_without_a_time_silently_becomes_a_draft(sdk: RecordingLate) -> None:
    ids = account_ids(sdk)
    reply = sdk.posts.create(content="Oops", platforms=[{"platform": "threads", "accountId": ids["threads"]}])
    assert sdk.last_response.status_code == 201
    assert reply.post.status == Status31.DRAFT


def test_list_get_and_populated_account_ids(sdk: RecordingLate) -> None:
    ids = account_ids(sdk)
    created = [
        sdk.posts.create(
            content=f"post {n}",
            platforms=[{"platform": "twitter", "accountId": ids["twitter"]}],
            scheduled_for=datetime.now(UTC) + timedelta(hours=n + 1),
        ).post.field_id
        for n in range(3)
    ]
    page = sdk.posts.list(page=1, limit=2)
    assert isinstance(page, PostsListResponse)
    assert_sdk_understands(sdk.last, page)
    assert page.pagination.total == 3 and page.pagination.pages == 2 and page.pagination.limit == 2
    # The default sort is scheduled-desc: the latest slot first.
    assert [p.field_id for p in page.posts] == [created[2], created[1]]
    newest_created = sdk.posts.list_posts(limit=1, sort_by="created-asc")["posts"][0]
    assert newest_created["_id"] == created[0]
    reply = sdk.posts.get(created[0])
    assert isinstance(reply, PostGetResponse)
    assert_sdk_understands(sdk.last, reply)
    account = reply.post.platforms[0].accountId
    assert isinstance(account, SocialAccount)  # GET populates accountId
    assert account.field_id == ids["twitter"] and account.username == "postdeck_sandbox"
    with pytest.raises(LateAPIError) as exc:
        sdk.posts.list(limit=501)
    assert exc.value.status_code == 400
    with pytest.raises(LateNotFoundError):
        sdk.posts.get("0" * 24)


def test_update_reschedules_and_edits(sdk: RecordingLate) -> None:
    ids = account_ids(sdk)
    post_id = sdk.posts.create(
        content="v1",
        platforms=[{"platform": "pinterest", "accountId": ids["pinterest"]}],
        media_items=[{"type": "image", "url": "https://media.zernio.com/temp/p.png"}],
        scheduled_for=datetime.now(UTC) + timedelta(hours=1),
    ).post.field_id
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    reply = sdk.posts.update(post_id, content="v2", scheduled_for=later)
    assert isinstance(reply, PostUpdateResponse)
    assert_sdk_understands(sdk.last, reply)
    assert reply.post.content == "v2" and reply.post.scheduledFor == later
    assert reply.post.status == Status31.SCHEDULED


def test_delete_only_draft_or_scheduled(sdk: RecordingLate) -> None:
    ids = account_ids(sdk)
    scheduled = sdk.posts.create(
        content="to delete",
        platforms=[{"platform": "facebook", "accountId": ids["facebook"]}],
        scheduled_for=datetime.now(UTC) + timedelta(hours=1),
    ).post.field_id
    reply = sdk.posts.delete(scheduled)
    assert isinstance(reply, PostDeleteResponse) and reply.message == "Post deleted successfully"
    with pytest.raises(LateNotFoundError):
        sdk.posts.get(scheduled)
    published = sdk.posts.create(
        content="live", platforms=[{"platform": "facebook", "accountId": ids["facebook"]}], publish_now=True
    ).post.field_id
    with pytest.raises(LateAPIError) as exc:
        sdk.posts.delete(published)
    assert exc.value.status_code == 400


def test_failed_publish_is_207_then_retry_publishes(sdk: RecordingLate, sim: LateSim) -> None:
    ids = account_ids(sdk)
    sim.fail_platforms = {"youtube"}
    reply = sdk.posts.create(
        content="A video",
        platforms=[
            {"platform": "youtube", "accountId": ids["youtube"], "platformSpecificData": {"title": "T"}},
            {"platform": "twitter", "accountId": ids["twitter"]},
        ],
        media_items=[{"type": "video", "url": "https://media.zernio.com/temp/v.mp4"}],
        publish_now=True,
    )
    assert sdk.last_response.status_code == 207
    assert_sdk_understands(sdk.last, PostPublishIncompleteResponse.model_validate(sdk.last))
    assert reply.post.status == Status31.PARTIAL
    youtube = reply.post.platforms[0]
    assert (
        youtube.status == "failed"
        and youtube.errorMessage
        and youtube.errorCategory.value == "platform_rejected"
    )
    assert youtube.platformSpecificData == {"title": "T"}
    assert {r["platform"]: r["status"] for r in sdk.last["platformResults"]} == {
        "youtube": "failed",
        "twitter": "published",
    }
    sim.fail_platforms = set()
    retried = sdk.posts.retry(reply.post.field_id)
    assert isinstance(retried, PostRetryResponse)
    assert_sdk_understands(sdk.last, retried)
    assert retried.post.status == Status31.PUBLISHED
    assert retried.post.platforms[0].platformPostUrl.startswith("https://www.youtube.com/watch?v=")
    # The target that had already published keeps its id.
    assert retried.post.platforms[1].platformPostId == reply.post.platforms[1].platformPostId
    with pytest.raises(LateAPIError) as exc:
        sdk.posts.retry(reply.post.field_id)  # nothing left to retry
    assert exc.value.status_code == 400


def test_request_id_replay_and_duplicate_content(sdk: RecordingLate, sim: LateSim) -> None:
    ids = account_ids(sdk)
    body = {
        "content": "once",
        "platforms": [{"platform": "instagram", "accountId": ids["instagram"]}],
        "mediaItems": [{"type": "image", "url": "https://media.zernio.com/temp/i.png"}],
        "publishNow": True,
    }
    rid = "2b0f6c8e-1d5a-4f8e-9c3b-7a1e5d9f0c42"
    first = sdk._post("/v1/posts", data=body, headers={"x-request-id": rid})
    assert sdk.last_response.headers["x-request-id"] == rid  # a valid request id is reused
    replay = sdk._post("/v1/posts", data=body, headers={"x-request-id": rid})
    assert sdk.last_response.status_code == 200
    assert Post3.model_validate(replay["existingPost"]).field_id == first["post"]["_id"]
    assert sim.stats()["creates_by_request_id"] == {rid: 1}
    with pytest.raises(LateAPIError) as exc:
        sdk._post("/v1/posts", data=body)  # new request id, same content and account
    assert exc.value.status_code == 409
    assert exc.value.details["details"]["existingPostId"] == first["post"]["_id"]
    assert sim.stats()["posts_created"] == 1 and sim.stats()["create_calls"] == 3


def test_disconnected_account_and_bad_key(sdk: RecordingLate, sim: LateSim, server: SandboxServer) -> None:
    ids = account_ids(sdk)
    sim.set_connected("twitter", False)
    with pytest.raises(LateForbiddenError) as exc:
        sdk.posts.create(
            content="x", platforms=[{"platform": "twitter", "accountId": ids["twitter"]}], publish_now=True
        )
    assert exc.value.details["code"] == "ACCOUNT_DISCONNECTED"
    with pytest.raises(LateAPIError) as exc:
        sdk.posts.create(content="x", platforms=[], publish_now=True)
    assert exc.value.status_code == 400
    stranger = Late(api_key="sk_wrong", base_url=server.url + "/api", max_retries=1)
    with pytest.raises(LateAuthenticationError) as auth:
        stranger.profiles.list()
    assert auth.value.message == "Unauthorized"


def test_rate_limit_headers_on_every_reply_and_429(sdk: RecordingLate, sim: LateSim) -> None:
    sdk.profiles.list()
    info = sdk.rate_limit_info
    assert info["limit"] == 600 and info["remaining"] == 599
    reset = int(sdk.last_response.headers["x-ratelimit-reset"])
    assert 0 < reset - datetime.now(UTC).timestamp() <= 62  # epoch seconds
    sim.rate_limit = 2
    sdk.profiles.list()
    with pytest.raises(LateAPIError) as exc:
        sdk.profiles.list()
    assert exc.value.status_code == 429
    assert int(sdk.last_response.headers["retry-after"]) >= 1


def test_admin_routes_need_no_key(sdk: RecordingLate, sim: LateSim, server: SandboxServer) -> None:
    ids = account_ids(sdk)
    when = datetime.now(UTC) + timedelta(minutes=5)
    sdk.posts.create(
        content="s", platforms=[{"platform": "twitter", "accountId": ids["twitter"]}], scheduled_for=when
    )
    stats = httpx.get(server.url + "/_sim/stats").json()
    assert stats["posts_by_status"] == {"scheduled": 1} and stats["create_calls"] == 1
    sim.set_now(when + timedelta(seconds=1))
    assert httpx.post(server.url + "/_sim/tick").json() == {"published": 1}
    sim.set_connected("twitter", False)
    assert httpx.post(server.url + "/_sim/reset").json() == {"ok": True}
    assert httpx.get(server.url + "/_sim/stats").json()["posts"] == 0
    assert account_ids(sdk) == ids  # same accounts, all connected again
    assert sim.account("twitter")["isActive"] is True
    assert sdk.posts.list().pagination.total == 0


def test_state_persists_across_restarts(tmp_path) -> None:
    path = tmp_path / "late.json"
    first = LateSim(state_path=path)
    with SandboxServer(create_app(first)) as running:
        sdk = Late(api_key=SANDBOX_LATE_KEY, base_url=running.url + "/api", max_retries=1)
        twitter = first.account("twitter")["_id"]
        post_id = sdk.posts.create(
            content="kept", platforms=[{"platform": "twitter", "accountId": twitter}], publish_now=True
        ).post.field_id
    second = LateSim(state_path=path)
    assert second.account("twitter")["_id"] == twitter
    assert second.profile == first.profile
    assert second.post(post_id)["status"] == "published"
    assert second.stats()["posts_created"] == 1


def test_users_and_bluesky_credentials(sdk: RecordingLate, sim: LateSim) -> None:
    users = sdk.users.list()
    assert [u.field_id for u in users.users] == [sim.user_id]
    # `currentUserId` is documented (reference §2.6) but absent from the SDK's model: the only key
    # the SDK drops.
    assert dropped_keys(sdk.last, users.model_dump(by_alias=True, exclude_unset=True, mode="json")) == [
        "$.currentUserId"
    ]
    assert sdk.last["currentUserId"] == sim.user_id
    sim.set_connected("bluesky", False)
    reply = sdk.connect.connect_bluesky_credentials(
        "northside.bsky.social", "abcd-efgh-ijkl-mnop", f"{sim.user_id}-{sim.profile['_id']}"
    )
    account = SocialAccount.model_validate(reply["account"])
    assert account.username == "northside.bsky.social" and account.isActive is True
    assert_sdk_understands(reply["account"], account)
    with pytest.raises(LateAPIError) as bad_state:
        sdk.connect.connect_bluesky_credentials("a.bsky.social", "abcd-efgh-ijkl-mnop", "nope")
    assert bad_state.value.status_code == 400


def test_fault_replies_speak_the_wire_format(sdk: RecordingLate, sim: LateSim) -> None:
    sim.faults.set_plan(
        FaultPlan(
            rules=(
                FaultRule(kind="throttle", retry_after=3, count=1, ops=("accounts",)),
                FaultRule(kind="status", status=503, count=1, ops=("accounts",)),
            )
        )
    )
    with pytest.raises(LateAPIError) as throttled:
        sdk.profiles.list()
    headers = sdk.last_response.headers
    assert throttled.value.status_code == 429 and headers["retry-after"] == "3"
    assert headers["x-ratelimit-remaining"] == "0" and headers["x-request-id"]
    assert 0 < int(headers["x-ratelimit-reset"]) - datetime.now(UTC).timestamp() <= 4  # epoch seconds
    with pytest.raises(LateAPIError) as unavailable:
        sdk.profiles.list()
    assert unavailable.value.status_code == 503
    assert sdk.profiles.list().profiles  # and then it answers again
    assert sim.stats()["faults_fired"] == {"throttle": 1, "status": 1}


def test_thread_items_and_first_comment_round_trip_as_the_sdk_models_name_them(
    sdk: RecordingLate, sim: LateSim
) -> None:
    """postdeck's own createPost body (late_wire) for a thread and a first comment: every key it puts in
    platformSpecificData is a field of late-sdk's model for that platform, and the simulator takes
    it, publishes it and echoes it back as the SDK parses it."""
    from late.models._generated.models import InstagramPlatformData, TwitterPlatformData

    from postdeck.core.platform import Platform
    from postdeck.providers.base import PostRequest, Target, ThreadPost
    from postdeck.providers.late_wire import post_body

    ids = account_ids(sdk)
    pic = "https://media.zernio.com/temp/1_a_pic.png"
    request = PostRequest(
        post_key="pk-thread",
        caption="1/4 the launch",
        targets=(
            Target(
                Platform.TWITTER,
                ids["twitter"],
                "1/4 the launch",
                thread=(ThreadPost("2/4 why", (pic,)), ThreadPost("3/4 how"), ThreadPost("4/4 when")),
            ),
            Target(
                Platform.INSTAGRAM, ids["instagram"], "1/4 the launch", {"first_comment": "#launch #spring"}
            ),
        ),
        media_urls=(pic,),
    )
    body = post_body(request)
    twitter, instagram = (t["platformSpecificData"] for t in body["platforms"])
    for data, model in ((twitter, TwitterPlatformData), (instagram, InstagramPlatformData)):
        parsed = model.model_validate(data).model_dump(exclude_unset=True, mode="json")
        assert dropped_keys(data, parsed) == [], model.__name__
    assert [item["content"] for item in twitter["threadItems"]] == [
        "1/4 the launch",
        "2/4 why",
        "3/4 how",
        "4/4 when",
    ]
    assert twitter["threadItems"][0]["mediaItems"] == [{"type": "image", "url": pic}]  # the caption's media
    assert instagram == {"firstComment": "#launch #spring"}

    reply = sdk.posts.create(
        content=body["content"],
        platforms=body["platforms"],
        media_items=body["mediaItems"],
        publish_now=True,
        metadata=body["metadata"],
    )
    assert_sdk_understands(sdk.last, reply)
    echoed = {t.platform: t.platformSpecificData for t in reply.post.platforms}
    assert echoed["twitter"]["threadItems"] == twitter["threadItems"]
    assert echoed["instagram"] == {"firstComment": "#launch #spring"}
    published = {row["platform"]: row for row in sim.targets()}
    assert published["twitter"]["thread"] == ["1/4 the launch", "2/4 why", "3/4 how", "4/4 when"]
    assert published["instagram"]["first_comment"] == "#launch #spring"
    assert published["instagram"]["status"] == "published"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threadItems": "no"}, "threadItems must be an array of objects"),
        ({"threadItems": [{"content": 3}]}, "threadItems[].content must be a string"),
        (
            {"threadItems": [{"content": "a", "mediaItems": [{"url": "https://x.test/a.png"}]}]},
            "needs a type",
        ),
        ({"threadItems": [{}]}, "Each thread item needs content or media"),
        ({"firstComment": ["no"]}, "firstComment must be a string"),
    ],
)
def test_malformed_thread_items_or_first_comment_are_400(
    sdk: RecordingLate, sim: LateSim, data: dict, message: str
) -> None:
    ids = account_ids(sdk)
    with pytest.raises(LateAPIError) as info:
        sdk.posts.create(
            content="hi",
            platforms=[{"platform": "twitter", "accountId": ids["twitter"], "platformSpecificData": data}],
            publish_now=True,
        )
    assert sdk.last_response.status_code == 400
    assert message in str(info.value)
    assert sim.targets() == []
