"""The Post for Me simulator, driven over loopback by the vendor's own SDK in strict mode.

`post_for_me` validates every reply against the vendor's OpenAPI models when
`_strict_response_validation=True`: if it parses, the simulator speaks the wire format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import post_for_me
import pytest

from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim, RateLimit, create_app
from postdeck.sandbox.server import SandboxServer

ID = re.compile(r"^(sp|spc|spr)_[0-9A-Za-z]{21}$")


@pytest.fixture
def sim() -> PostForMeSim:
    return PostForMeSim()


@pytest.fixture
def server(sim: PostForMeSim) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(sim)) as server:
        sim.upload_base = server.url
        yield server


@pytest.fixture
def sdk(server: SandboxServer) -> Iterator[post_for_me.PostForMe]:
    client = post_for_me.PostForMe(
        api_key=DEFAULT_API_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    yield client
    client.close()


def account_id(sim: PostForMeSim, platform: str) -> str:
    return sim.account_for(platform)["id"]


def test_accounts_list_filter_paginate_and_retrieve(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    sim.add_account("x", username="old_handle", connected=False)

    connected = sdk.social_accounts.list(status=["connected"])
    assert {a.platform for a in connected.data} == {
        "bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "tiktok", "x", "youtube"
    }  # fmt: skip
    assert all(ID.match(a.id) and a.id.startswith("spc_") for a in connected.data)
    assert all(a.status == "connected" and a.access_token for a in connected.data)
    assert connected.meta.total == 9 and connected.meta.next is None

    everything = sdk.social_accounts.list()  # no status filter: disconnected ones too
    assert everything.meta.total == 10
    disconnected = next(a for a in everything.data if a.username == "old_handle")
    assert disconnected.status == "disconnected" and disconnected.access_token == ""

    xs = sdk.social_accounts.list(platform=["x", "bluesky"], status=["connected"])  # sent comma-joined
    assert sorted(a.platform for a in xs.data) == ["bluesky", "x"]

    page = sdk.social_accounts.list(limit=4, offset=0)
    assert len(page.data) == 4 and page.meta.total == 10
    assert page.meta.next is not None and "offset=4" in page.meta.next and "limit=4" in page.meta.next
    rest = sdk.social_accounts.list(limit=100, offset=4)
    assert len(rest.data) == 6 and rest.meta.next is None
    assert not {a.id for a in page.data} & {a.id for a in rest.data}

    one = sdk.social_accounts.retrieve(account_id(sim, "x"))
    assert one.platform == "x" and one.username == "postdeck_sandbox"
    assert isinstance(one.access_token_expires_at, datetime)

    with pytest.raises(post_for_me.NotFoundError) as missing:
        sdk.social_accounts.retrieve("spc_" + "0" * 21)
    assert missing.value.body == {"statusCode": 404, "message": "Social account not found"}

    threads = account_id(sim, "threads")
    cut = sdk.social_accounts.disconnect(threads)
    assert cut.status == "disconnected" and cut.access_token == "" and cut.id == threads
    assert threads not in {a.id for a in sdk.social_accounts.list(status=["connected"]).data}

    with pytest.raises(post_for_me.BadRequestError) as too_many:
        sdk.social_accounts.list(limit=101)
    assert too_many.value.body == {
        "message": ["limit must not be greater than 100"],
        "error": "Bad Request",
        "statusCode": 400,
    }


def test_auth_url_and_the_return_trip(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    raw = sdk.social_accounts.with_raw_response.create_auth_url(
        platform="x", external_id="user-7", redirect_url_override="https://app.example/connected"
    )
    assert raw.status_code == 201
    reply = raw.parse()
    assert reply.platform == "x" and reply.url.startswith("https://x.com/i/oauth2/authorize?")

    # The sandbox's "provider" sends the browser back through the simulator's callback.
    callback = parse_qs(urlsplit(reply.url).query)["redirect_uri"][0]
    state = parse_qs(urlsplit(reply.url).query)["state"][0]
    back = httpx.get(callback, params={"state": state, "code": "c"}, follow_redirects=False)
    assert back.status_code == 302
    landing = urlsplit(back.headers["location"])
    assert landing.netloc == "app.example"
    query = parse_qs(landing.query)
    assert query["isSuccess"] == ["true"] and query["provider"] == ["x"]
    assert query["accountIds"] == [account_id(sim, "x")]
    assert sdk.social_accounts.retrieve(account_id(sim, "x")).external_id == "user-7"

    assert sdk.social_accounts.create_auth_url(platform="bluesky").url == ""  # no handle: empty URL
    sim.quickstart = True  # a project on Post for Me's own app credentials
    with pytest.raises(post_for_me.BadRequestError) as quickstart:
        sdk.social_accounts.create_auth_url(platform="x", redirect_url_override="https://app.example/cb")
    assert quickstart.value.body["message"].startswith("Redirect URL Override is not allowed")
    with pytest.raises(post_for_me.NotFoundError) as unknown:
        sdk.social_accounts.create_auth_url(platform="myspace")
    assert "credentials not found" in unknown.value.body["message"]


def test_media_upload_url_and_signed_put(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    raw = sdk.media.with_raw_response.create_upload_url(extra_body={"content_type": "image/png"})
    assert raw.status_code == 201
    urls = raw.parse()
    assert re.match(
        r"^https://data\.postforme\.dev/storage/v1/object/public/post-media/proj_\w+/[0-9a-f]{24}$",
        urls.media_url,
    )
    assert "/storage/v1/object/upload/sign/post-media/" in urls.upload_url and "token=" in urls.upload_url

    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    put = httpx.put(urls.upload_url, content=image, headers={"Content-Type": "image/png"})
    assert put.status_code == 200
    assert sim.media_bytes(urls.media_url) == image
    assert httpx.put(urls.upload_url, content=image, headers={"Content-Type": "image/png"}).status_code == 400

    other = sdk.media.create_upload_url()
    forged = other.upload_url.split("token=")[0] + "token=forged"
    assert httpx.put(forged, content=b"x", headers={"Content-Type": "image/png"}).status_code == 400
    assert sim.media_bytes(other.media_url) is None


def test_immediate_post_is_processed_with_results(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    x, bsky = account_id(sim, "x"), account_id(sim, "bluesky")
    raw = sdk.social_posts.with_raw_response.create(
        caption="Spring roast is here",
        social_accounts=[x, bsky],
        external_id="pd_batch_1",
        media=[{"url": "https://cdn.example.com/roast.jpg"}],
        platform_configurations={"x": {"caption": "Spring roast ☕"}},
    )
    assert raw.status_code == 201
    post = raw.parse()
    assert ID.match(post.id) and post.id.startswith("sp_")
    assert post.status == "processing" and post.external_id == "pd_batch_1"
    assert post.scheduled_at is not None  # the creation time, never null
    assert abs(datetime.fromisoformat(post.scheduled_at) - datetime.now(UTC)) < timedelta(minutes=1)
    assert {a.id for a in post.social_accounts} == {x, bsky}
    assert post.platform_configurations.x.caption == "Spring roast ☕"
    assert [m.url for m in post.media] == ["https://cdn.example.com/roast.jpg"]

    assert sdk.social_posts.retrieve(post.id).status == "processed"
    results = sdk.social_post_results.list(post_id=[post.id])
    assert results.meta.total == 1  # counts posts, not rows
    by_account = {r.social_account_id: r for r in results.data}
    assert set(by_account) == {x, bsky}
    assert all(r.success and r.error is None and ID.match(r.id) for r in results.data)
    assert re.match(r"^https://twitter\.com/user/status/\d{19}$", by_account[x].platform_data.url)
    assert by_account[x].platform_data.url.endswith(by_account[x].platform_data.id)
    assert by_account[bsky].platform_data.id.startswith("at://did:plc:")
    assert by_account[bsky].platform_data.url.startswith(
        "https://bsky.app/profile/postdeck-sandbox.bsky.social/post/"
    )

    found = sdk.social_posts.list(external_id=["pd_batch_1"])
    assert [p.id for p in found.data] == [post.id]
    assert sdk.social_posts.list(external_id=["nope"]).data == []
    assert [p.id for p in sdk.social_posts.list(status=["processed"], platform=["x"]).data] == [post.id]

    with pytest.raises(post_for_me.BadRequestError) as put:
        sdk.social_posts.update(post.id, caption="edit", social_accounts=[x])
    assert put.value.body == {"statusCode": 400, "message": "Post has already been processed"}
    with pytest.raises(post_for_me.BadRequestError) as delete:
        sdk.social_posts.delete(post.id)
    assert delete.value.body == {"statusCode": 400, "message": "Can only delete scheduled or draft posts"}
    assert sim.stats()["create_calls"] == 1 and sim.creates_by_external_id == {"pd_batch_1": 1}


def test_scheduled_post_update_delete_and_tick(
    sim: PostForMeSim, server: SandboxServer, sdk: post_for_me.PostForMe
) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    yt = account_id(sim, "youtube")
    post = sdk.social_posts.create(
        caption="Tasting on Saturday",
        social_accounts=[yt],
        scheduled_at=when,
        external_id="pd_later",
        platform_configurations={"youtube": {"title": "Tasting", "privacy_status": "unlisted"}},
    )
    assert post.status == "scheduled"
    assert datetime.fromisoformat(post.scheduled_at) == when
    assert post.platform_configurations.youtube.privacy_status == "unlisted"

    updated = sdk.social_posts.update(
        post.id, caption="Tasting moved to Sunday", social_accounts=[yt], scheduled_at=when
    )
    assert (
        updated.id == post.id
        and updated.caption == "Tasting moved to Sunday"
        and updated.status == "scheduled"
    )
    assert sdk.social_post_results.list(post_id=[post.id]).data == []  # nothing until processed

    sim.advance_clock(3 * 3600)  # the cron runs after the due time
    assert httpx.post(f"{server.url}/_sim/tick").json() == {"processed": 1}
    assert sdk.social_posts.retrieve(post.id).status == "processed"
    [result] = sdk.social_post_results.list(post_id=[post.id]).data
    assert result.platform_data.url == f"https://www.youtube.com/watch?v={result.platform_data.id}"

    sim.reset_clock()
    draft = sdk.social_posts.create(caption="draft", social_accounts=[yt], is_draft=True)
    assert draft.status == "draft"
    assert sdk.social_posts.delete(draft.id).success is True
    with pytest.raises(post_for_me.NotFoundError) as gone:
        sdk.social_posts.retrieve(draft.id)
    assert gone.value.body == {"statusCode": 404, "message": "Post not found"}


def test_create_validation_messages(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    x = account_id(sim, "x")
    with pytest.raises(post_for_me.BadRequestError) as bad:
        sdk.social_posts.create(
            caption="",
            social_accounts=[x, "spc_notmine000000000000"],
            scheduled_at=datetime.now(UTC) - timedelta(minutes=5),
            media=[
                {"url": "http://localhost:3000/a.png"},
                {"url": "https://10.1.2.3/b.png"},
                {"url": "ftp://files.example.com/c.png"},
                {"url": "not a url"},
            ],
            platform_configurations={"x": {"media": [{"url": "http://127.0.0.1/d.png"}]}},
        )
    assert bad.value.status_code == 400
    assert bad.value.body == {
        "statusCode": 400,
        "message": "Invalid Request",
        "errors": [
            "caption is required",
            "invalid social accounts, not owned by user",
            "scheduled_at must be in the future",
            "media URL cannot point to localhost: http://localhost:3000/a.png",
            "media URL cannot use IP addresses: https://10.1.2.3/b.png",
            "media URL must use http or https protocol: ftp://files.example.com/c.png",
            "invalid media URL: not a url",
            "x: media URL cannot point to localhost: http://127.0.0.1/d.png",
        ],
    }
    # Whole minutes: 30 seconds ago is not "in the past" yet.
    recent = sdk.social_posts.create(
        caption="ok", social_accounts=[x], scheduled_at=datetime.now(UTC) - timedelta(seconds=30)
    )
    assert recent.status == "scheduled"
    assert sim.create_calls == 2 and sim.stats()["posts"] == 1


def test_failed_results_carry_null_platform_data(sim: PostForMeSim, server: SandboxServer) -> None:
    # Raw HTTP: the SDK's models say platform_data is never null, but the server sends null on failure.
    sim.fail_platforms = {"linkedin"}
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    li, th = account_id(sim, "linkedin"), account_id(sim, "threads")
    post = httpx.post(
        f"{server.url}/v1/social-posts", json={"caption": "hi", "social_accounts": [li, th]}, headers=headers
    ).json()
    results = httpx.get(
        f"{server.url}/v1/social-post-results", params={"post_id": post["id"]}, headers=headers
    ).json()
    by_account = {r["social_account_id"]: r for r in results["data"]}
    assert by_account[li]["success"] is False and by_account[li]["platform_data"] is None
    assert "linkedin" in by_account[li]["error"]
    assert by_account[th]["success"] is True and by_account[th]["platform_data"]["url"].startswith(
        "https://www.threads.net/@"
    )


def test_auth_errors_unknown_routes_and_rate_limits(sim: PostForMeSim, server: SandboxServer) -> None:
    wrong = post_for_me.PostForMe(
        api_key="nope", base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    with pytest.raises(post_for_me.AuthenticationError) as denied:
        wrong.social_accounts.list()
    assert denied.value.body == {
        "message": "Invalid or expired token",
        "error": "Unauthorized",
        "statusCode": 401,
    }
    missing = httpx.get(f"{server.url}/v1/social-posts")
    assert missing.status_code == 401 and missing.json()["message"] == "Authorization token not found."

    lost = httpx.get(f"{server.url}/v1/social-things?x=1")
    assert lost.status_code == 404
    assert lost.json() == {
        "message": "Cannot GET /v1/social-things?x=1",
        "error": "Not Found",
        "statusCode": 404,
    }
    assert httpx.patch(f"{server.url}/v1/social-posts").status_code == 404

    sim.rate_limits = (RateLimit(2, 60.0, "per_minute_use"),)
    sdk = post_for_me.PostForMe(
        api_key=DEFAULT_API_KEY, base_url=server.url, max_retries=0, _strict_response_validation=True
    )
    sdk.social_accounts.list()
    sdk.social_accounts.list()
    with pytest.raises(post_for_me.RateLimitError) as throttled:
        sdk.social_accounts.list()
    response = throttled.value.response
    assert throttled.value.body == {"statusCode": 429, "message": "Too many requests, please try again later"}
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-Rate-Limit-Reset"] == response.headers["Retry-After"]
    assert response.headers["X-Rate-Limit-Name"] == "per_minute_use"


def test_admin_endpoints_and_persistence(tmp_path: Path) -> None:
    state = tmp_path / "postforme.json"
    sim = PostForMeSim(state_path=state)
    with SandboxServer(create_app(sim)) as server:
        sdk = post_for_me.PostForMe(api_key=DEFAULT_API_KEY, base_url=server.url, max_retries=0)
        x = account_id(sim, "x")
        urls = sdk.media.create_upload_url()
        httpx.put(urls.upload_url, content=b"GIF89a", headers={"Content-Type": "image/gif"})
        post = sdk.social_posts.create(caption="kept", social_accounts=[x], external_id="pd_k")
        stats = httpx.get(f"{server.url}/_sim/stats").json()
        assert stats["create_calls"] == 1 and stats["creates_by_external_id"] == {"pd_k": 1}

    again = PostForMeSim(state_path=state)  # a new process would see the same project
    assert account_id(again, "x") == x and again.create_calls == 1
    assert again.get_post(post.id)["caption"] == "kept"
    assert again.media_bytes(urls.media_url) == b"GIF89a"
    with SandboxServer(create_app(again)) as server:
        assert httpx.post(f"{server.url}/_sim/reset").json() == {"success": True}
        assert httpx.get(f"{server.url}/_sim/stats").json()["create_calls"] == 0
    assert PostForMeSim(state_path=state).posts == {}


def test_lookup_by_external_id_and_disconnect(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    x = account_id(sim, "x")
    first = sdk.social_posts.create(caption="one", social_accounts=[x], external_id="pd_key")
    sdk.social_posts.create(caption="two", social_accounts=[x], external_id="pd_other")
    found = sdk.social_posts.list(external_id=["pd_key"])
    assert [p.id for p in found.data] == [first.id] and found.meta.total == 1
    gone = sdk.social_accounts.disconnect(x)
    assert gone.status == "disconnected" and gone.access_token == ""
    connected = sdk.social_accounts.list(status=["connected"], platform=["x"])
    assert connected.data == []


def test_fault_replies_speak_the_wire_format(sim: PostForMeSim, sdk: post_for_me.PostForMe) -> None:
    sim.faults.set_plan(
        FaultPlan(
            rules=(
                FaultRule(kind="throttle", retry_after=2, count=1, ops=("accounts",)),
                FaultRule(kind="status", status=500, count=1, ops=("accounts",)),
            )
        )
    )
    with pytest.raises(post_for_me.RateLimitError) as throttled:
        sdk.social_accounts.list()
    headers = throttled.value.response.headers
    assert throttled.value.body == {"statusCode": 429, "message": "Too many requests, please try again later"}
    assert headers["Retry-After"] == headers["X-Rate-Limit-Reset"] == "2"
    assert headers["X-Rate-Limit-Duration"] == "60" and "X-RateLimit-Limit" not in headers
    with pytest.raises(post_for_me.InternalServerError) as failed:
        sdk.social_accounts.list()
    assert failed.value.body == {"statusCode": 500, "message": "Internal Server Error"}
    assert sdk.social_accounts.list().data
