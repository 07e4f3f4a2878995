"""Seed 000's provider classes on their own, its failover order, and its error table, against the
simulators over real HTTP."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.queries import DeliveryQuery
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from postdeck.service import LateProvider, PostForMeProvider, SocialPostingService
from tests.service.test_service_harness import USER, Sims

pytest_plugins = ["tests.service.test_service_harness"]


def jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 120, 200)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# --- the provider classes ----------------------------------------------------------------------------


def test_postforme_provider_posts_once_through_the_ledger(box: Sandbox, sims: Sims, ledger, workdir) -> None:
    provider = PostForMeProvider(api_key=SANDBOX_POSTFORME_KEY, base_url=box.postforme_url)
    assert provider.name == "PostForMe"
    result = provider.post(content="Hello from the API!", platforms=["twitter", "linkedin"])
    assert result.success and result.provider == "PostForMe", result.error
    again = provider.post(content="Hello from the API!", platforms=["twitter", "linkedin"])
    assert again.post_id == result.post_id and set(again.actions.values()) == {"unchanged"}
    (post,) = sims.pfm_posts()
    assert post["id"] == result.post_id and sims.pfm_stats()["create_calls"] == 1
    records = ledger.find_deliveries(DeliveryQuery(provider_post_id=post["id"]))
    assert {r.platform for r in records} == {"twitter", "linkedin"}
    assert {r.attempted_providers for r in records} == {("postforme:direct",)}


def test_late_provider_posts_and_schedules(box: Sandbox, sims: Sims, ledger, workdir) -> None:
    provider = LateProvider(api_key=SANDBOX_LATE_KEY, base_url=box.late_url)
    assert provider.name == "LATE"
    now = provider.post("Straight to LATE", ["bluesky"])
    later = provider.post("Later at LATE", ["linkedin"], scheduled_for=datetime(2099, 1, 1, 9, tzinfo=UTC))
    assert now.success and later.success and later.statuses == {"linkedin": "scheduled"}
    by_id = {p["_id"]: p for p in sims.late_posts()}
    assert by_id[now.post_id]["content"] == "Straight to LATE" and by_id[now.post_id]["status"] == "published"
    assert by_id[later.post_id]["status"] == "scheduled"
    assert now.platform_post_urls["bluesky"] == by_id[now.post_id]["platforms"][0]["platformPostUrl"]
    assert ledger.get(later.delivery_keys["linkedin"]).status == DeliveryStatus.SCHEDULED


def test_provider_get_accounts(box: Sandbox, sims: Sims, workdir) -> None:
    pfm = PostForMeProvider(api_key=SANDBOX_POSTFORME_KEY, base_url=box.postforme_url)
    late = LateProvider(api_key=SANDBOX_LATE_KEY, base_url=box.late_url)
    assert {a.id for a in pfm.get_accounts()} == {a["id"] for a in sims.pfm_accounts(status="connected")}
    late_accounts = late.get_accounts()
    assert {a.id for a in late_accounts} == {a["_id"] for a in sims.late_accounts()}
    assert all(a.profile_id for a in late_accounts)  # LATE accounts belong to a profile
    assert PostForMeProvider(api_key="wrong", base_url=box.postforme_url).get_accounts() == []


def test_provider_upload_media(box: Sandbox, sims: Sims, workdir: Path) -> None:
    image = jpeg(workdir / "photo.jpg")
    pfm = PostForMeProvider(api_key=SANDBOX_POSTFORME_KEY, base_url=box.postforme_url)
    url = pfm.upload_media(str(image))
    assert url is not None
    served = httpx.get(box.postforme_url + urlsplit(url).path)  # the provider's storage serves it back
    assert served.content == image.read_bytes()
    late_url = LateProvider(api_key=SANDBOX_LATE_KEY, base_url=box.late_url).upload_media(str(image))
    assert late_url is not None and late_url.startswith("https://") and late_url.endswith(".jpg")
    assert sims.pfm_stats()["uploads"] == 1 and sims.late_stats()["uploads"] == 1
    # A URL is fetched by the safe downloader: a private address is refused, nothing is uploaded.
    assert pfm.upload_media("https://127.0.0.1/secret.jpg") is None
    assert pfm.upload_media("http://cdn.example.com/plain-http.jpg") is None
    assert sims.pfm_stats()["uploads"] == 1


# --- failover ---------------------------------------------------------------------------------------


def test_failover_from_postforme_to_late(box: Sandbox, sims: Sims, ledger, workdir, monkeypatch) -> None:
    # The seed's order: user PostForMe → user LATE → global PostForMe → global LATE.
    monkeypatch.setenv("POSTFORME_BASE_URL", box.postforme_url)
    monkeypatch.setenv("LATE_BASE_URL", box.late_url)
    monkeypatch.setenv("POSTFORME_API_KEY", "revoked-key")
    monkeypatch.setenv("LATE_API_KEY", SANDBOX_LATE_KEY)
    service = SocialPostingService()
    service.init(None)
    result = service.create_post(USER, "Served by the fallback", ["twitter"])
    assert result.success and result.provider == "LATE", result.error
    assert sims.pfm_posts() == [] and [p["content"] for p in sims.late_posts()] == ["Served by the fallback"]
    record = ledger.get(result.delivery_keys["twitter"])
    assert record.provider == "late" and record.attempted_providers == ("late:global",)


# --- the seed's error table --------------------------------------------------------------------------


def test_no_connected_account_for_a_platform(
    service: SocialPostingService, sims: Sims, box: Sandbox, ledger
) -> None:
    sims.pfm_disconnect("threads")
    box.late.set_connected("threads", False)
    result = service.create_post(USER, "nowhere to go", ["twitter", "threads"])
    assert not result.success and result.error == "No connected accounts for: ['threads']"
    # Nothing was claimed: once the account is connected, the same call posts.
    assert ledger.find_deliveries(DeliveryQuery()) == [] and sims.pfm_stats()["create_calls"] == 0


def test_provider_http_error_is_returned(service: SocialPostingService, sims: Sims, ledger) -> None:
    # Post for Me refuses media URLs that are IP addresses (400); postdeck lets public ones through.
    result = service.create_post(USER, "odd media", ["bluesky"], media_urls=["https://93.184.216.34/a.jpg"])
    assert not result.success and "HTTP 400" in result.error and "IP addresses" in result.error
    assert ledger.get(result.delivery_keys["bluesky"]).status == DeliveryStatus.FAILED


def test_network_failure_is_returned(box: Sandbox, workdir, ledger, monkeypatch) -> None:
    monkeypatch.setenv("POSTDECK_SANDBOX_POSTFORME_URL", closed_port_url())
    monkeypatch.setenv("POSTDECK_SANDBOX_LATE_URL", closed_port_url() + "/api")
    service = SocialPostingService(sandbox=True)
    service.init(None)
    result = service.create_post(USER, "into the void", ["twitter"])
    assert not result.success
    assert result.error.startswith("postforme: ConnectError"), result.error
    assert "; late: ConnectError" in result.error  # both were down: both are named
    assert ledger.find_deliveries(DeliveryQuery()) == []  # nothing claimed when no provider answers


def test_a_history_write_failure_still_returns_the_post(
    service: SocialPostingService, sims: Sims, ledger
) -> None:
    from postdeck.errors import LedgerError

    def broken(row: dict) -> str:
        raise LedgerError("social_posts is read-only today")

    service.ledger.inner.record_social_post = broken
    result = service.create_post(USER, "tracked or not", ["twitter"])
    assert result.success and result.post_id == sims.pfm_posts()[0]["id"]
    assert ledger.get(result.delivery_keys["twitter"]).status == DeliveryStatus.POSTED


def test_scheduling_in_the_past_is_refused(service: SocialPostingService, sims: Sims) -> None:
    result = service.create_post(
        USER, "too late", ["twitter"], scheduled_for=datetime.now(UTC) - timedelta(hours=1)
    )
    assert not result.success and "has passed" in result.error
    assert sims.pfm_stats()["create_calls"] == 0


def test_a_refused_post_never_blocks_another_through_a_provider_class(
    box: Sandbox, sims: Sims, ledger, workdir
) -> None:
    # YouTube needs a video: refused before anything is sent, so the ledger holds nothing of it. The
    # same words to X through the same provider class must still go out (not fail with YouTube's errors).
    provider = PostForMeProvider(api_key=SANDBOX_POSTFORME_KEY, base_url=box.postforme_url)
    refused = provider.post(content="Same words", platforms=["youtube"])
    assert not refused.success and "youtube" in (refused.error or "").lower()
    assert ledger.find_deliveries(DeliveryQuery()) == [] and sims.pfm_stats()["create_calls"] == 0
    other = provider.post(content="Same words", platforms=["twitter"])
    assert other.success, other.error
    assert set(other.statuses) == {"twitter"} and sims.pfm_stats()["create_calls"] == 1
