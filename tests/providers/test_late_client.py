"""LateClient against the LATE simulator over loopback, and its failure classification."""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from postdeck.core.platform import Platform
from postdeck.errors import CredentialsError
from postdeck.providers import late as late_module
from postdeck.providers.base import PostRequest, Provider, Target, TargetStatus
from postdeck.providers.errors import (
    ProviderLookupIncomplete,
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
)
from postdeck.providers.late import LateClient, post_body, request_id_for
from postdeck.sandbox.faults import FaultPlan, FaultRule
from postdeck.sandbox.late_app import SANDBOX_LATE_KEY, LateSim, create_app
from postdeck.sandbox.server import SandboxServer, free_port


@pytest.fixture
def sim() -> LateSim:
    return LateSim()


@pytest.fixture
def server(sim: LateSim) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(sim)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[LateClient]:
    late = LateClient(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api")
    yield late
    late.close()


def target(sim: LateSim, platform: str, caption: str = "Hello", **options) -> Target:
    return Target(Platform(platform), sim.account(platform)["_id"], caption, options)


def request(
    key: str, *targets: Target, caption: str = "Hello", media=(), at: datetime | None = None
) -> PostRequest:
    return PostRequest(
        post_key=key, caption=caption, targets=targets, media_urls=tuple(media), scheduled_at=at
    )


def only_post(sim: LateSim) -> dict:
    (post,) = sim.posts.values()
    return post


# --- configuration ---------------------------------------------------------------------------------


def test_is_a_provider_and_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialsError) as exc:
        LateClient()
    assert "api_key" in str(exc.value) and "LATE_API_KEY" in str(exc.value)
    monkeypatch.setenv("LATE_API_KEY", "from-env-key")
    monkeypatch.setenv("LATE_BASE_URL", "http://127.0.0.1:9/api/")
    client = LateClient()
    assert isinstance(client, Provider) and client.name == "late"
    assert client.base_url == "http://127.0.0.1:9/api"
    assert "from-env-key" not in repr(client) and "from-env-key" not in str(client)
    monkeypatch.delenv("LATE_BASE_URL")
    assert LateClient(api_key="k").base_url == "https://zernio.com/api"


def test_request_id_is_a_stable_uuid_of_the_post_key() -> None:
    rid = request_id_for("9f2c4e")
    assert uuid.UUID(rid).version == 5
    assert rid == request_id_for("9f2c4e") != request_id_for("9f2c4f")


def test_body_always_says_publish_now_or_scheduled_for() -> None:
    twitter = Target(Platform.TWITTER, "a" * 24, "Hi")
    now_body = post_body(request("k", twitter, caption="Hi"))
    assert now_body["publishNow"] is True and "scheduledFor" not in now_body
    assert now_body["metadata"] == {"postdeck_post_key": "k"}
    at = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
    later = post_body(request("k", twitter, caption="Hi", at=at))
    assert later["scheduledFor"] == "2030-05-01T09:30:00+00:00" and "publishNow" not in later
    with pytest.raises(ValueError):
        post_body(request("k", twitter, caption="Hi", at=datetime(2030, 5, 1, 9, 30)))


# --- against the simulator -------------------------------------------------------------------------


def test_accounts_fill_profile_and_skip_disconnected(client: LateClient, sim: LateSim) -> None:
    sim.set_connected("tiktok", False)
    accounts = client.accounts()
    assert {a.platform for a in accounts} == set(Platform) - {Platform.TIKTOK}
    twitter = next(a for a in accounts if a.platform == Platform.TWITTER)
    assert twitter.id == sim.account("twitter")["_id"] and twitter.username == "postdeck_sandbox"
    assert all(a.profile_id == sim.profile["_id"] and a.provider == "late" for a in accounts)


def test_upload_puts_the_bytes_and_returns_the_public_url(client: LateClient, sim: LateSim) -> None:
    url = client.upload(b"\x89PNG fake", content_type="image/png", filename="cover art.png")
    assert url.startswith("https://media.zernio.com/temp/") and url.endswith("_cover_art.png")
    key = url.removeprefix("https://media.zernio.com/")
    assert sim.uploads[key] == ("image/png", b"\x89PNG fake")


def test_publish_now_is_posted_with_urls_and_media(client: LateClient, sim: LateSim) -> None:
    image = client.upload(b"img", content_type="image/jpeg", filename="a.jpg")
    video = client.upload(b"vid", content_type="video/mp4", filename="b.mp4")
    outcome = client.create(
        request("key-now", target(sim, "twitter"), target(sim, "threads"), media=(image, video))
    )
    assert outcome.provider == "late" and outcome.provider_post_id == only_post(sim)["_id"]
    twitter = outcome.result_for(Platform.TWITTER)
    assert twitter.status == TargetStatus.POSTED and twitter.account_id == sim.account("twitter")["_id"]
    assert twitter.url == f"https://twitter.com/postdeck_sandbox/status/{twitter.platform_post_id}"
    assert outcome.result_for(Platform.THREADS).url.startswith("https://www.threads.net/@postdeck_sandbox/")
    assert [(m["type"], m["url"]) for m in only_post(sim)["mediaItems"]] == [
        ("image", image),
        ("video", video),
    ]


def test_partial_failure_then_retry(client: LateClient, sim: LateSim) -> None:
    sim.fail_platforms = {"bluesky"}
    outcome = client.create(request("key-partial", target(sim, "twitter"), target(sim, "bluesky")))
    assert outcome.result_for(Platform.TWITTER).status == TargetStatus.POSTED
    bluesky = outcome.result_for(Platform.BLUESKY)
    assert bluesky.status == TargetStatus.FAILED and "simulated failure" in bluesky.error
    sim.fail_platforms = set()
    retried = client.retry(outcome.provider_post_id)
    assert retried.result_for(Platform.BLUESKY).status == TargetStatus.POSTED
    assert retried.result_for(Platform.TWITTER).url == outcome.result_for(Platform.TWITTER).url


def test_scheduled_then_posted_after_the_tick(client: LateClient, sim: LateSim) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    outcome = client.create(request("key-later", target(sim, "linkedin"), at=at))
    assert outcome.scheduled_at == at
    assert outcome.result_for(Platform.LINKEDIN).status == TargetStatus.SCHEDULED
    assert only_post(sim)["status"] == "scheduled"
    sim.set_now(at + timedelta(minutes=1))
    assert sim.tick() == 1
    later = client.get(outcome.provider_post_id)  # GET populates accountId as an object
    linkedin = later.result_for(Platform.LINKEDIN)
    assert linkedin.status == TargetStatus.POSTED and linkedin.account_id == sim.account("linkedin")["_id"]
    assert linkedin.url.startswith("https://www.linkedin.com/feed/update/")


def test_update_reschedules_a_scheduled_post(client: LateClient, sim: LateSim) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    outcome = client.create(request("key-upd", target(sim, "facebook"), at=at))
    moved = at + timedelta(days=1)
    updated = client.update(
        outcome.provider_post_id,
        request("key-upd", target(sim, "facebook", "New"), caption="New", at=moved),
    )
    assert updated.scheduled_at == moved
    assert updated.result_for(Platform.FACEBOOK).status == TargetStatus.SCHEDULED
    assert only_post(sim)["content"] == "New"


def test_lookup_finds_the_post_key_and_none_otherwise(client: LateClient, sim: LateSim) -> None:
    created = client.create(
        request("key-find-me", target(sim, "pinterest", board="b1"), media=["https://x.test/p.png"])
    )
    found = client.lookup("key-find-me")
    assert found is not None and found.provider_post_id == created.provider_post_id
    assert found.result_for(Platform.PINTEREST).status == TargetStatus.POSTED
    assert client.lookup("key-never-sent") is None


def test_lookup_pages_newest_first_within_a_bound(
    client: LateClient, sim: LateSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        client.create(request(f"key-{n}", target(sim, "bluesky", f"post {n}"), caption=f"post {n}"))
        time.sleep(0.002)  # distinct createdAt (milliseconds)
    monkeypatch.setattr(late_module, "LOOKUP_PAGE_SIZE", 2)
    assert client.lookup("key-0") is not None  # on page 3 of created-desc
    assert client.lookup("key-none") is None  # the whole list searched
    monkeypatch.setattr(late_module, "LOOKUP_MAX_PAGES", 2)
    assert client.lookup("key-4") is not None
    # Beyond the bound "not found" is not "absent": a failover on it would post twice.
    with pytest.raises(ProviderLookupIncomplete, match="cannot be told"):
        client.lookup("key-0")


def seed_drafts(sim: LateSim, count: int, start: datetime) -> None:
    """`count` posts stored in the simulator (not over HTTP: only the lookups are under test), one a
    minute from `start`."""
    for n in range(count):
        sim.set_now(start + timedelta(minutes=n))
        draft = PostRequest(
            f"filler-{n}", f"filler {n}", (target(sim, "bluesky", f"filler {n}"),), draft=True
        )
        sim.begin_create(post_body(draft), None)


def test_lookup_searches_back_to_the_first_attempt_and_past_the_first_pages(
    client: LateClient, sim: LateSim
) -> None:
    """Issue 18: lookup read the newest 500 posts only and then said "absent", so a post older than
    those was created again (failover, or a resend after the idempotency window)."""
    first_attempt = datetime(2030, 1, 1, 9, tzinfo=UTC)
    sim.set_now(first_attempt)
    client.create(request("key-old", target(sim, "twitter", "the old one"), caption="the old one"))
    seed_drafts(sim, 950, first_attempt + timedelta(hours=1))
    sim.reset_clock()

    assert client.lookup("key-old", since=first_attempt) is not None  # page 10 of 100
    assert client.lookup("key-old") is not None

    # A key first tried after most of the list: the search stops once the posts are older than that.
    recent = first_attempt + timedelta(hours=1, minutes=860)  # page 1 holds minutes 949 to 850
    calls: list[str] = []
    original = sim.list_posts

    def counted(params: dict[str, str]):
        calls.append(params["page"])
        return original(params)

    sim.list_posts = counted  # type: ignore[method-assign]
    assert client.lookup("key-never-created", since=recent) is None
    assert len(calls) == 2  # page 1 ends 10 minutes before it; the 30-minute margin reads page 2 too

    seed_drafts(sim, 200, first_attempt + timedelta(days=2))
    sim.reset_clock()
    calls.clear()
    # Now 1,150 posts are newer than it: the 10-page cap ends the search before the first attempt.
    with pytest.raises(ProviderLookupIncomplete):
        client.lookup("key-old", since=first_attempt)
    assert len(calls) == late_module.LOOKUP_MAX_PAGES
    with pytest.raises(ProviderLookupIncomplete):
        client.lookup("key-never-created")


def test_request_id_replay_creates_nothing(client: LateClient, sim: LateSim) -> None:
    req = request("key-replay", target(sim, "instagram"), media=["https://x.test/i.jpg"])
    first = client.create(req)
    second = client.create(req)
    assert second.provider_post_id == first.provider_post_id
    assert second.result_for(Platform.INSTAGRAM).status == TargetStatus.POSTED
    stats = sim.stats()
    assert stats["create_calls"] == 2 and stats["posts_created"] == 1
    assert stats["creates_by_request_id"] == {request_id_for("key-replay"): 1}
    assert stats["creates_by_post_key"] == {"key-replay": 1}


def test_duplicate_content_409_adopts_only_our_own_post(client: LateClient, sim: LateSim) -> None:
    first = client.create(request("key-a", target(sim, "twitter")))
    # Same key, new request id (after the 5-minute replay window, say): LATE's 409 names our post.
    sim.request_ids.clear()
    again = client.create(request("key-a", target(sim, "twitter")))
    assert again.provider_post_id == first.provider_post_id and again.post_key == "key-a"
    assert again.result_for(Platform.TWITTER).status == TargetStatus.POSTED
    # Another post key with the same content: someone else's post, so a content rejection.
    with pytest.raises(ProviderRejected) as dup:
        client.create(request("key-b", target(sim, "twitter")))
    assert (
        dup.value.status == 409 and not dup.value.provider_specific and dup.value.code == "DUPLICATE_CONTENT"
    )
    assert sim.stats()["posts_created"] == 1 and sim.stats()["create_calls"] == 3


def test_replay_when_dedup_runs_first_still_creates_nothing(client: LateClient, sim: LateSim) -> None:
    sim.dedup_first = True  # what the vendor SDK reports live: 409 before the request-id check
    req = request("key-live", target(sim, "threads"))
    first = client.create(req)
    assert client.create(req).provider_post_id == first.provider_post_id
    assert sim.stats()["posts_created"] == 1


def test_custom_content_and_options_reach_the_sim(client: LateClient, sim: LateSim) -> None:
    client.create(
        request(
            "key-opts",
            target(sim, "twitter", "Short for X"),
            target(sim, "linkedin"),
            target(sim, "youtube", title="Launch", privacy="unlisted"),
            target(sim, "tiktok", privacy="public"),
            target(sim, "pinterest", board="987"),
            target(sim, "facebook", page="555"),
            target(sim, "instagram", placement="stories"),
            target(sim, "linkedin", organization="42"),
            media=["https://x.test/v.mp4"],
        )
    )
    targets = only_post(sim)["platforms"]
    assert targets[0]["customContent"] == "Short for X"
    assert "customContent" not in targets[1] and "platformSpecificData" not in targets[1]
    assert [t.get("platformSpecificData") for t in targets[2:]] == [
        {"title": "Launch", "visibility": "unlisted"},
        {"privacyLevel": "PUBLIC_TO_EVERYONE"},
        {"boardId": "987"},
        {"pageId": "555"},
        {"contentType": "story"},
        {"organizationUrn": "urn:li:organization:42"},
    ]


def test_cancel_deletes_a_scheduled_post_only(client: LateClient, sim: LateSim) -> None:
    at = datetime.now(UTC) + timedelta(hours=1)
    scheduled = client.create(
        request("key-cancel", target(sim, "tiktok"), at=at, media=["https://x.test/t.mp4"])
    )
    client.cancel(scheduled.provider_post_id)
    assert sim.posts == {}
    with pytest.raises(ProviderRejected) as gone:
        client.get(scheduled.provider_post_id)
    assert gone.value.status == 404 and gone.value.message == "Not found"
    published = client.create(
        request("key-live-post", target(sim, "tiktok"), media=["https://x.test/t2.mp4"])
    )
    with pytest.raises(ProviderRejected) as refused:
        client.cancel(published.provider_post_id)
    assert refused.value.status == 400 and not refused.value.provider_specific


# --- failures ------------------------------------------------------------------------------------


def test_wrong_key_is_a_provider_specific_rejection_without_the_key(server: SandboxServer) -> None:
    secret = "zz-wrong-key-4f9a1c"
    client = LateClient(api_key=secret, base_url=server.url + "/api")
    with pytest.raises(ProviderRejected) as exc:
        client.accounts()
    error = exc.value
    assert error.status == 401 and error.provider_specific and error.message == "Unauthorized"
    assert error.request_id  # LATE's X-Request-Id, quoted in support tickets
    for text in (str(error), repr(error), error.body, pickle.dumps(error).decode("latin-1"), repr(client)):
        assert secret not in text
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ProviderRejected and copy.provider_specific and copy.status == 401


def test_disconnected_account_is_provider_specific(client: LateClient, sim: LateSim) -> None:
    twitter = target(sim, "twitter")
    sim.set_connected("twitter", False)
    with pytest.raises(ProviderRejected) as exc:
        client.create(request("key-disc", twitter))
    assert exc.value.status == 403 and exc.value.provider_specific
    with pytest.raises(ProviderRejected) as bad:
        client.create(request("key-empty", caption=""))  # no platforms: the content is at fault
    assert bad.value.status == 400 and not bad.value.provider_specific


def test_closed_port_is_not_sent() -> None:
    client = LateClient(api_key="k", base_url=f"http://127.0.0.1:{free_port()}/api")
    with pytest.raises(ProviderNotSent) as exc:
        client.create(request("key-closed", Target(Platform.TWITTER, "a" * 24, "Hello")))
    assert exc.value.method == "POST" and "ConnectError" in exc.value.message


def test_read_timeout_is_maybe_sent_and_lookup_then_finds_it(server: SandboxServer, sim: LateSim) -> None:
    sim.publish_delay = 1.0
    client = LateClient(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api", timeout=httpx.Timeout(0.3))
    with pytest.raises(ProviderMaybeSent) as exc:
        client.create(request("key-slow", target(sim, "youtube", title="T"), media=["https://x.test/y.mp4"]))
    assert "ReadTimeout" in exc.value.message
    during = client.lookup("key-slow")  # the post exists while LATE is still publishing it
    assert during is not None and during.result_for(Platform.YOUTUBE).status == TargetStatus.PENDING
    time.sleep(1.2)
    after = client.lookup("key-slow")
    assert after is not None and after.result_for(Platform.YOUTUBE).status == TargetStatus.POSTED
    assert sim.stats()["posts_created"] == 1


def test_throttled_with_retry_after(client: LateClient, sim: LateSim) -> None:
    sim.faults.set_plan(FaultPlan(rules=(FaultRule(kind="throttle", retry_after=2, count=1),)))
    with pytest.raises(ProviderThrottled) as exc:
        client.accounts()
    assert exc.value.status == 429 and exc.value.retry_after == 2.0 and exc.value.request_id


def test_the_limiter_waits_instead_of_collecting_429s(client: LateClient, sim: LateSim) -> None:
    sim.rate_limit = 2
    client.accounts()
    client.accounts()  # X-RateLimit-Remaining: 0: the next call would be refused
    assert client.limiter is not None and client.limiter.delay() > 50


def test_5xx_is_maybe_sent_on_post_and_not_sent_on_get(client: LateClient, sim: LateSim) -> None:
    sim.fail_next(502, after_processing=True)  # the post is created, the reply is lost
    with pytest.raises(ProviderMaybeSent) as exc:
        client.create(request("key-5xx", target(sim, "bluesky")))
    assert exc.value.status == 502
    assert client.lookup("key-5xx") is not None
    sim.fail_next(503)
    with pytest.raises(ProviderNotSent):
        client.get(only_post(sim)["_id"])


# --- the rest of what postdeck uses ---------------------------------------------------------------


def test_accounts_filter_by_platform_and_connection(client: LateClient, sim: LateSim) -> None:
    sim.set_connected("threads", False)
    assert [a.platform for a in client.accounts(platform=Platform.BLUESKY)] == [Platform.BLUESKY]
    assert client.accounts(platform=Platform.THREADS) == []
    [threads] = client.accounts(platform=Platform.THREADS, include_disconnected=True)
    assert not threads.connected and threads.id == sim.account("threads")["_id"]
    assert len(client.accounts(include_disconnected=True)) == 9


def test_connect_url_goes_through_the_default_profile_and_comes_back_connected(
    client: LateClient, sim: LateSim
) -> None:
    sim.set_connected("linkedin", False)
    link = client.connect_url(Platform.LINKEDIN, redirect_url="https://app.example/done")
    assert link.provider == "late" and link.platform is Platform.LINKEDIN and link.state
    assert link.state.startswith(f"{sim.user_id}-{sim.profile['_id']}-")
    back = httpx.get(link.url)  # the user's browser, consenting at once
    assert back.status_code == 302
    location = httpx.URL(back.headers["location"])
    assert str(location).startswith("https://app.example/done?")
    assert dict(location.params) == {
        "connected": "linkedin",
        "profileId": sim.profile["_id"],
        "accountId": sim.account("linkedin")["_id"],
        "username": "postdeck_sandbox",
    }
    assert [a.platform for a in client.accounts(platform=Platform.LINKEDIN)] == [Platform.LINKEDIN]
    with pytest.raises(ProviderRejected):
        client.connect_url(Platform.BLUESKY)  # no OAuth there


def test_bluesky_connects_with_an_app_password(client: LateClient, sim: LateSim) -> None:
    sim.set_connected("bluesky", False)
    account = client.connect_bluesky("northside.bsky.social", "abcd-efgh-ijkl-mnop")
    assert account.platform is Platform.BLUESKY and account.connected
    assert account.username == "northside.bsky.social" and account.id == sim.account("bluesky")["_id"]
    with pytest.raises(ProviderRejected) as wrong:
        client.connect_bluesky("northside.bsky.social", "my real password")
    assert wrong.value.status == 401


def test_a_draft_is_stored_and_never_published(client: LateClient, sim: LateSim) -> None:
    draft = PostRequest("key-draft", "Later", (target(sim, "twitter", "Later"),), draft=True)
    assert post_body(draft).get("isDraft") is True and "publishNow" not in post_body(draft)
    outcome = client.create(draft)
    assert only_post(sim)["status"] == "draft" and outcome.status == "draft"
    assert outcome.result_for(Platform.TWITTER).status == TargetStatus.FAILED  # will not publish


def test_list_posts_newest_first_with_their_keys(client: LateClient, sim: LateSim) -> None:
    for n in range(3):
        client.create(request(f"key-list-{n}", target(sim, "bluesky", f"n{n}"), caption=f"n{n}"))
        time.sleep(0.002)
    listed = client.list_posts(limit=2)
    assert [p.post_key for p in listed] == ["key-list-2", "key-list-1"]
    assert client.list_posts(status="failed") == []


def test_a_disconnected_account_names_its_platform(client: LateClient, sim: LateSim) -> None:
    sim.set_connected("instagram", False)
    with pytest.raises(ProviderRejected) as refused:
        client.create(request("key-ig", target(sim, "twitter"), target(sim, "instagram")))
    assert refused.value.code == "ACCOUNT_DISCONNECTED" and refused.value.platforms == ("instagram",)
    assert refused.value.provider_specific


def test_media_is_uploaded_once_with_the_type_read_from_the_bytes(client: LateClient, sim: LateSim) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    first = client.upload(png, content_type="image/jpeg", filename="cover.jpg")  # the name lies
    again = client.upload(png, content_type="image/jpeg", filename="cover.jpg")
    assert first == again and len(sim.uploads) == 1
    [(kind, data)] = sim.uploads.values()
    assert kind == "image/png" and data == png


def test_scheduled_posts_move_on_the_configured_tick(server: SandboxServer, sim: LateSim) -> None:
    sim.tick_interval = 0.0  # every request runs the scheduler
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    client = LateClient(api_key=SANDBOX_LATE_KEY, base_url=server.url + "/api")
    outcome = client.create(request("key-tick", target(sim, "threads"), at=at))
    sim.set_now(at + timedelta(seconds=1))
    assert client.get(outcome.provider_post_id).result_for(Platform.THREADS).status == TargetStatus.POSTED


def test_a_409_whose_post_cannot_be_read_is_maybe_sent_never_not_sent() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, json={"error": "dup", "details": {"existingPostId": "a" * 24}})
        return httpx.Response(503, json={"error": "Service unavailable"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    client = LateClient(api_key="k", base_url="http://late.test/api", http_client=http)
    with pytest.raises(ProviderMaybeSent) as exc:  # failing over now could post it twice
        client.create(request("key-409", Target(Platform.TWITTER, "b" * 24, "Hello")))
    assert exc.value.status == 409 and "a" * 24 in exc.value.message
