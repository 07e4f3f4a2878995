"""PostForMeClient against the Post for Me simulator over real loopback HTTP."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from postdeck.core.platform import Platform
from postdeck.errors import CredentialsError
from postdeck.providers.base import PostRequest, Provider, Target, TargetStatus
from postdeck.providers.errors import (
    ProviderMaybeSent,
    ProviderNotSent,
    ProviderRejected,
    ProviderThrottled,
)
from postdeck.providers.postforme import PostForMeClient
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim, RateLimit, create_app
from postdeck.sandbox.server import SandboxServer, free_port

MEDIA = "https://cdn.example.com/roast.jpg"


@pytest.fixture
def sim() -> PostForMeSim:
    return PostForMeSim()


@pytest.fixture
def server(sim: PostForMeSim) -> Iterator[SandboxServer]:
    with SandboxServer(create_app(sim)) as server:
        sim.upload_base = server.url
        yield server


@pytest.fixture
def client(server: SandboxServer) -> Iterator[PostForMeClient]:
    client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url)
    yield client
    client.close()


def target(sim: PostForMeSim, platform: Platform, caption: str = "Spring roast", **options: object) -> Target:
    name = "x" if platform is Platform.TWITTER else platform.value
    return Target(platform, sim.account_for(name)["id"], caption, dict(options))


def request(
    *targets: Target, key: str = "pd_1", caption: str = "Spring roast", **extra: object
) -> PostRequest:
    return PostRequest(post_key=key, caption=caption, targets=targets, **extra)  # type: ignore[arg-type]


def test_is_a_provider_and_lists_connected_accounts_across_pages(
    sim: PostForMeSim, client: PostForMeClient
) -> None:
    assert isinstance(client, Provider) and client.name == "postforme"
    sim.add_account("tiktok_business", username="biz")
    sim.add_account("linkedin", username="gone", connected=False)
    for n in range(120):  # more than one page of 100
        sim.add_account("bluesky", username=f"extra{n}.bsky.social")

    accounts = client.accounts()
    assert len(accounts) == 9 + 1 + 120
    assert len({a.id for a in accounts}) == len(accounts)
    assert all(a.provider == "postforme" and a.connected for a in accounts)
    assert "gone" not in {a.username for a in accounts}
    by_name = {a.username: a for a in accounts if a.username in ("biz", "extra0.bsky.social")}
    assert by_name["biz"].platform is Platform.TIKTOK
    assert {a.platform for a in accounts} == set(Platform)
    twitter = [a for a in accounts if a.platform is Platform.TWITTER]
    assert [a.id for a in twitter] == [sim.account_for("x")["id"]]


def test_upload_puts_the_bytes_without_the_api_key(sim: PostForMeSim, server: SandboxServer) -> None:
    seen: list[httpx.Request] = []
    shared = httpx.Client(event_hooks={"request": [seen.append]})
    client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url, http_client=shared)
    data = b"\xff\xd8\xff\xe0" + b"jpeg" * 1000

    url = client.upload(data, content_type="image/jpeg", filename="roast.jpg")

    assert url.startswith("https://data.postforme.dev/storage/v1/object/public/post-media/")
    assert sim.media_bytes(url) == data
    create, put = seen
    assert (
        create.method == "POST" and create.url.path == "/v1/media/create-upload-url" and create.content == b""
    )
    assert create.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert put.method == "PUT" and put.headers["content-type"] == "image/jpeg"
    assert "authorization" not in put.headers
    client.close()
    assert not shared.is_closed  # a client passed in belongs to the caller
    shared.close()

    with pytest.raises(ProviderRejected) as refused:  # the bucket takes images, videos and text only
        PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url).upload(
            b"%PDF", content_type="application/pdf", filename="a.pdf"
        )
    assert "not supported" in str(refused.value) and "token=" not in str(refused.value)


def test_immediate_post_is_pending_then_posted(sim: PostForMeSim, client: PostForMeClient) -> None:
    x = target(sim, Platform.TWITTER, "Spring roast ☕ #coffee")
    li = target(sim, Platform.LINKEDIN)
    outcome = client.create(request(x, li, media_urls=(MEDIA,)))

    assert outcome.provider == "postforme" and outcome.provider_post_id.startswith("sp_")
    assert [(r.platform, r.status) for r in outcome.results] == [
        (Platform.TWITTER, TargetStatus.PENDING),
        (Platform.LINKEDIN, TargetStatus.PENDING),
    ]
    stored = sim.posts[outcome.provider_post_id]
    assert stored["external_id"] == "pd_1" and stored["caption"] == "Spring roast"
    assert stored["media"][0]["url"] == MEDIA
    # Only the caption that differs travels as an override, under Post for Me's name for X.
    assert stored["platform_configurations"] == {"x": {"caption": "Spring roast ☕ #coffee"}}

    done = client.get(outcome.provider_post_id)
    posted = done.result_for(Platform.TWITTER)
    assert posted is not None and posted.status is TargetStatus.POSTED
    assert posted.url == f"https://twitter.com/user/status/{posted.platform_post_id}"
    assert posted.account_id == x.account_id
    linkedin = done.result_for(Platform.LINKEDIN)
    assert linkedin is not None and linkedin.status is TargetStatus.POSTED
    assert linkedin.url == f"https://www.linkedin.com/feed/update/{linkedin.platform_post_id}"
    assert done.scheduled_at is None

    assert client.lookup("pd_1") == done
    assert client.lookup("pd_unknown") is None


def test_scheduled_post_options_update_tick_and_cancel(sim: PostForMeSim, client: PostForMeClient) -> None:
    when = datetime(2031, 5, 17, 10, 0, tzinfo=UTC).astimezone()  # an explicit non-UTC offset is fine too
    sim.set_now(datetime(2031, 5, 17, 8, 0, tzinfo=UTC))
    yt = target(sim, Platform.YOUTUBE, title="Tasting day", privacy="unlisted", colour="ignored")
    pin = target(sim, Platform.PINTEREST, board="987654", link="https://northside.example/spring")
    outcome = client.create(request(yt, pin, key="pd_sched", media_urls=(MEDIA,), scheduled_at=when))

    assert {r.status for r in outcome.results} == {TargetStatus.SCHEDULED}
    assert outcome.scheduled_at == when
    stored = sim.posts[outcome.provider_post_id]
    assert datetime.fromisoformat(stored["scheduled_at"]) == when
    assert stored["platform_configurations"] == {
        "youtube": {"title": "Tasting day", "privacy_status": "unlisted"},
        "pinterest": {"link": "https://northside.example/spring", "board_ids": ["987654"]},
    }
    assert client.get(outcome.provider_post_id).scheduled_at == when

    changed = client.update(
        outcome.provider_post_id,
        request(yt, key="pd_sched", caption="Moved", scheduled_at=when + timedelta(hours=1)),
    )
    assert changed.provider_post_id == outcome.provider_post_id
    assert sim.posts[outcome.provider_post_id]["caption"] == "Moved"
    assert [r.platform for r in client.get(outcome.provider_post_id).results] == [Platform.YOUTUBE]

    sim.set_now(datetime(2031, 5, 17, 12, 0, tzinfo=UTC))
    assert sim.tick() == 1
    [result] = client.get(outcome.provider_post_id).results
    assert result.status is TargetStatus.POSTED and result.url.startswith("https://www.youtube.com/watch?v=")

    with pytest.raises(ProviderRejected) as processed:
        client.cancel(outcome.provider_post_id)
    assert "Can only delete scheduled or draft posts" in str(processed.value)

    sim.set_now(datetime(2031, 5, 17, 12, 0, tzinfo=UTC))
    later = client.create(request(yt, key="pd_cancel", scheduled_at=when + timedelta(days=1)))
    client.cancel(later.provider_post_id)
    assert later.provider_post_id not in sim.posts
    assert client.lookup("pd_cancel") is None


def test_lookup_returns_the_newest_post_of_a_key(sim: PostForMeSim, client: PostForMeClient) -> None:
    first = client.create(request(target(sim, Platform.THREADS), key="pd_dup"))
    second = client.create(request(target(sim, Platform.BLUESKY), key="pd_dup"))
    client.create(request(target(sim, Platform.FACEBOOK), key="pd_dup,other"))  # commas split server-side

    found = client.lookup("pd_dup")
    assert found is not None and found.provider_post_id == second.provider_post_id != first.provider_post_id
    assert [r.platform for r in found.results] == [Platform.BLUESKY]
    assert sim.creates_by_external_id["pd_dup"] == 2


def test_platform_failures_become_failed_results(sim: PostForMeSim, client: PostForMeClient) -> None:
    sim.fail_platforms = {"instagram"}
    outcome = client.create(
        request(target(sim, Platform.INSTAGRAM, placement="reels"), target(sim, Platform.TIKTOK))
    )
    assert sim.posts[outcome.provider_post_id]["platform_configurations"] == {
        "instagram": {"placement": "reels"}
    }

    done = client.get(outcome.provider_post_id)
    failed, posted = done.result_for(Platform.INSTAGRAM), done.result_for(Platform.TIKTOK)
    assert failed is not None and failed.status is TargetStatus.FAILED and failed.url is None
    assert failed.error and "instagram" in failed.error
    assert (
        posted is not None
        and posted.status is TargetStatus.POSTED
        and posted.url == "https://www.tiktok.com/@postdeck_sandbox"
    )


def test_validation_errors_are_rejections_with_the_vendor_message(
    sim: PostForMeSim, client: PostForMeClient
) -> None:
    sim.set_now(datetime(2031, 1, 1, 12, 0, tzinfo=UTC))
    bad = request(
        target(sim, Platform.TWITTER),
        media_urls=("http://192.168.1.20/a.png",),
        scheduled_at=datetime(2031, 1, 1, 11, 0, tzinfo=UTC),
    )
    with pytest.raises(ProviderRejected) as rejected:
        client.create(bad)
    error = rejected.value
    assert error.status == 400 and not error.provider_specific
    assert "Invalid Request" in error.message
    assert "media URL cannot use IP addresses: http://192.168.1.20/a.png" in error.message
    assert "scheduled_at must be in the future" in error.message
    assert error.method == "POST" and error.url.endswith("/v1/social-posts")

    stranger = Target(Platform.TWITTER, "spc_" + "A" * 21, "hi")
    with pytest.raises(ProviderRejected) as not_here:
        client.create(request(stranger))
    assert not_here.value.provider_specific  # connected elsewhere, maybe
    assert "invalid social accounts, not owned by user" in not_here.value.message
    assert sim.posts == {}

    with pytest.raises(ProviderRejected) as missing:
        client.get("sp_" + "0" * 21)
    assert missing.value.status == 404 and "Post not found" in missing.value.message


def test_wrong_key_is_a_provider_specific_rejection_that_never_shows_the_key(server: SandboxServer) -> None:
    secret = "wrong-key-supersecret-0123456789"
    client = PostForMeClient(api_key=secret, base_url=server.url)
    with pytest.raises(ProviderRejected) as denied:
        client.accounts()
    error = denied.value
    assert error.status == 401 and error.provider_specific
    assert "Invalid or expired token" in str(error)
    for text in (str(error), repr(error), error.body, error.url, repr(client), str(client)):
        assert secret not in text and "supersecret" not in text
    assert b"supersecret" not in pickle.dumps(error)
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, ProviderRejected) and restored.provider_specific and restored.status == 401


def test_credentials_come_from_arguments_or_the_environment(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CredentialsError) as none:
        PostForMeClient()
    assert "api_key" in str(none.value) and "POSTFORME_API_KEY" in str(none.value)

    monkeypatch.setenv("POSTFORME_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("POSTFORME_BASE_URL", server.url + "/v1")
    from_env = PostForMeClient()
    assert from_env.base_url == server.url
    assert len(from_env.accounts()) == 9
    assert DEFAULT_API_KEY not in repr(from_env)
    monkeypatch.delenv("POSTFORME_BASE_URL")
    assert PostForMeClient().base_url == "https://api.postforme.dev"


def test_connection_refused_is_not_sent() -> None:
    client = PostForMeClient(api_key=DEFAULT_API_KEY, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderNotSent) as refused:
        client.create(request(Target(Platform.TWITTER, "spc_x", "hi")))
    assert "ConnectError" in str(refused.value)


def test_read_timeout_on_create_may_have_sent_the_post(sim: PostForMeSim, server: SandboxServer) -> None:
    client = PostForMeClient(
        api_key=DEFAULT_API_KEY, base_url=server.url, timeout=httpx.Timeout(0.3, connect=5.0)
    )
    x = target(sim, Platform.TWITTER)
    sim.response_delay = 1.5  # the post is stored, then the answer is late
    with pytest.raises(ProviderMaybeSent) as late:
        client.create(request(x, key="pd_slow"))
    assert "ReadTimeout" in str(late.value)
    with pytest.raises(ProviderNotSent):  # a read that times out changed nothing
        client.get("sp_" + "0" * 21)

    sim.response_delay = 0
    found = client.lookup("pd_slow")  # what the chain does next: it was created after all
    assert found is not None and found.result_for(Platform.TWITTER).status is TargetStatus.POSTED


def test_error_after_store_is_maybe_sent(sim: PostForMeSim, client: PostForMeClient) -> None:
    sim.fail_after_store = 1
    with pytest.raises(ProviderMaybeSent) as unknown:
        client.create(request(target(sim, Platform.THREADS), key="pd_500"))
    assert unknown.value.status == 500
    assert client.lookup("pd_500") is not None


def test_throttling_carries_retry_after(sim: PostForMeSim, client: PostForMeClient) -> None:
    sim.rate_limits = (RateLimit(1, 30.0, "per_minute_use"),)
    client.accounts()
    with pytest.raises(ProviderThrottled) as throttled:
        client.accounts()
    assert throttled.value.status == 429 and 1 <= throttled.value.retry_after <= 30
    assert "Too many requests" in throttled.value.message


@pytest.mark.parametrize(
    ("privacy", "sent"),
    [("PUBLIC_TO_EVERYONE", "public"), ("SELF_ONLY", "private"), ("FOLLOWER_OF_CREATOR", "private")],
)
def test_tiktok_privacy_never_goes_out_wider_than_asked(
    sim: PostForMeSim, client: PostForMeClient, privacy: str, sent: str
) -> None:
    outcome = client.create(request(target(sim, Platform.TIKTOK, privacy=privacy)))
    assert sim.posts[outcome.provider_post_id]["platform_configurations"] == {
        "tiktok": {"privacy_status": sent}
    }


# --- the rest of what postdeck uses ---------------------------------------------------------------


def test_accounts_filter_by_platform_and_connection(sim: PostForMeSim, client: PostForMeClient) -> None:
    business = sim.add_account("tiktok_business", username="biz")
    sim.disconnect_account(sim.account_for("threads")["id"])
    tiktok = client.accounts(platform=Platform.TIKTOK)
    assert {a.username for a in tiktok} == {"postdeck_sandbox", "biz"}
    assert all(a.platform is Platform.TIKTOK for a in tiktok) and business["id"] in {a.id for a in tiktok}
    assert client.accounts(platform=Platform.THREADS) == []
    [threads] = client.accounts(platform=Platform.THREADS, include_disconnected=True)
    assert not threads.connected


def test_connect_url_and_the_return_trip(sim: PostForMeSim, client: PostForMeClient) -> None:
    sim.disconnect_account(sim.account_for("linkedin")["id"])
    link = client.connect_url(
        Platform.LINKEDIN, redirect_url="https://app.example/back", external_id="user-7"
    )
    assert link.url.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    state = httpx.URL(link.url).params["state"]
    callback = httpx.URL(httpx.URL(link.url).params["redirect_uri"])
    back = httpx.get(callback, params={"state": state})  # the platform sends the browser back
    assert back.status_code == 302
    params = dict(httpx.URL(back.headers["location"]).params)
    assert params["isSuccess"] == "true" and params["provider"] == "linkedin"
    [linkedin] = client.accounts(platform=Platform.LINKEDIN)
    assert linkedin.id == params["accountIds"] and linkedin.external_id == "user-7"


def test_bluesky_connects_through_its_callback_url(sim: PostForMeSim, client: PostForMeClient) -> None:
    link = client.connect_bluesky("northside.bsky.social", "abcd-efgh-ijkl-mnop")
    assert link.platform is Platform.BLUESKY and "handle=northside.bsky.social" in link.url
    assert httpx.get(link.url).status_code == 200  # opening it connects the account
    with pytest.raises(ProviderRejected):
        client.connect_url(Platform.BLUESKY)


def test_a_draft_is_stored_and_never_processed(sim: PostForMeSim, client: PostForMeClient) -> None:
    outcome = client.create(request(target(sim, Platform.THREADS), key="pd_draft", draft=True))
    stored = sim.posts[outcome.provider_post_id]
    assert stored["status"] == "draft" and outcome.status == "draft"
    assert sim.tick() == 0 and client.get(outcome.provider_post_id).status == "draft"
    assert outcome.result_for(Platform.THREADS).status is TargetStatus.FAILED  # will not publish


def test_list_posts_newest_first_with_their_keys(sim: PostForMeSim, client: PostForMeClient) -> None:
    for n in range(3):
        client.create(request(target(sim, Platform.BLUESKY), key=f"pd_list_{n}"))
    assert [p.post_key for p in client.list_posts(limit=2)] == ["pd_list_2", "pd_list_1"]
    assert [p.status for p in client.list_posts(status="processed")] == ["processed"] * 3


def test_a_disconnected_account_fails_in_a_way_another_provider_can_fix(
    sim: PostForMeSim, client: PostForMeClient
) -> None:
    x, bluesky = target(sim, Platform.TWITTER), target(sim, Platform.BLUESKY)
    sim.disconnect_platforms(("bluesky",))  # after postdeck listed the accounts
    done = client.get(client.create(request(x, bluesky, key="pd_disc")).provider_post_id)
    failed = done.result_for(Platform.BLUESKY)
    assert failed.status is TargetStatus.FAILED and failed.portable and "reconnect" in failed.error
    assert done.result_for(Platform.TWITTER).status is TargetStatus.POSTED
    sim.fail_platforms = {"x"}
    refused = client.get(client.create(request(x, key="pd_refused")).provider_post_id)
    assert not refused.result_for(Platform.TWITTER).portable  # content: stays failed


def test_media_is_uploaded_once_with_the_type_read_from_the_bytes(
    sim: PostForMeSim, client: PostForMeClient
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    first = client.upload(png, content_type="application/octet-stream", filename="cover.jpg")
    assert client.upload(png, content_type="image/jpeg", filename="cover.jpg") == first
    assert sim.stats()["uploads"] == 1
    [upload] = [u for u in sim.uploads.values() if u["size"] is not None]
    assert upload["content_type"] == "image/png"
    assert first.startswith("https://data.postforme.dev/")  # a host Post for Me accepts in a post


def test_a_processed_post_cannot_be_replaced(sim: PostForMeSim, client: PostForMeClient) -> None:
    outcome = client.create(request(target(sim, Platform.THREADS), key="pd_done"))
    client.get(outcome.provider_post_id)  # processed by now
    with pytest.raises(ProviderRejected) as refused:
        client.update(outcome.provider_post_id, request(target(sim, Platform.THREADS), key="pd_done"))
    assert refused.value.status == 400 and "already been processed" in refused.value.message
