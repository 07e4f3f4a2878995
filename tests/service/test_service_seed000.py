"""Seed 000's SocialPostingService, one test per operation, against the simulators over real HTTP:
each checks what the simulator holds (over its own API) and what the ledger recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.queries import DeliveryQuery
from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, Sandbox
from postdeck.service import PostResult, SocialPostingService
from tests.service.test_service_harness import USER, Sims

CAMPAIGN = """\
name: launch
timezone: UTC
owner: {owner}
defaults:
  platforms: [twitter, bluesky]
batches:
  - id: teaser
    caption: "Something is brewing on {{{{ platform }}}}"
  - id: reveal
    at: 2099-06-01 09:00
    caption: "Spring roast, out now"
"""

pytest_plugins = ["tests.service.test_service_harness"]


@pytest.fixture
def keyed_service(box: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> SocialPostingService:
    """Not the sandbox switch: the real credential path (stored keys, then env keys), with the clients
    aimed at the simulators through POSTFORME_BASE_URL / LATE_BASE_URL."""
    monkeypatch.setenv("POSTFORME_BASE_URL", box.postforme_url)
    monkeypatch.setenv("LATE_BASE_URL", box.late_url)
    svc = SocialPostingService()
    svc.init(None)
    return svc


# --- init ------------------------------------------------------------------------------------------


def test_init_none_uses_the_configured_ledger(service: SocialPostingService, sims: Sims, ledger) -> None:
    assert service.ledger.ident == ledger.ident  # POSTDECK_LEDGER, journaled
    result = service.create_post(USER, "into the configured ledger", ["bluesky"])
    assert result.success and ledger.get(result.delivery_keys["bluesky"]).status == DeliveryStatus.POSTED
    assert [p["caption"] for p in sims.pfm_posts()] == ["into the configured ledger"]


# --- credentials -----------------------------------------------------------------------------------


def test_save_credentials_are_used_for_the_users_posts(keyed_service, sims: Sims, ledger) -> None:
    assert keyed_service.save_credentials(USER, "postforme", SANDBOX_POSTFORME_KEY, ["twitter"])
    raw = ledger.credential_row(USER, "postforme")
    assert SANDBOX_POSTFORME_KEY not in str(raw)  # encrypted at rest
    result = keyed_service.create_post(USER, "with the user's own key", ["twitter"])
    assert result.success, result.error
    assert ledger.get(result.delivery_keys["twitter"]).attempted_providers == ("postforme:owner",)
    assert [p["caption"] for p in sims.pfm_posts()] == ["with the user's own key"]


def test_get_credentials_decrypts(keyed_service) -> None:
    keyed_service.save_credentials(USER, "late", SANDBOX_LATE_KEY, ["linkedin", "twitter"])
    stored = keyed_service.get_credentials(USER, "late")
    assert stored.api_key.get_secret_value() == SANDBOX_LATE_KEY
    assert stored.connected_platforms == ("linkedin", "twitter")
    assert SANDBOX_LATE_KEY not in repr(stored)  # a SecretStr: printing it shows no key
    assert keyed_service.get_credentials(USER, "postforme") is None


def test_delete_credentials_then_posting_has_no_credentials(keyed_service, sims: Sims, ledger) -> None:
    keyed_service.save_credentials(USER, "postforme", SANDBOX_POSTFORME_KEY)
    assert keyed_service.delete_credentials(USER, "postforme") is True
    assert keyed_service.delete_credentials(USER, "postforme") is False
    result = keyed_service.create_post(USER, "nobody can send this", ["twitter"])
    assert not result.success
    assert result.error.startswith("No social posting credentials configured")
    assert sims.pfm_stats()["create_calls"] == 0 and ledger.find_deliveries(DeliveryQuery()) == []


def test_refresh_connected_platforms_asks_the_provider(keyed_service, sims: Sims, ledger) -> None:
    keyed_service.save_credentials(USER, "postforme", SANDBOX_POSTFORME_KEY, ["pinterest"])
    sims.pfm_disconnect("tiktok")
    refreshed = keyed_service.refresh_connected_platforms(USER)
    at_sim = {
        "twitter" if a["platform"] == "x" else a["platform"] for a in sims.pfm_accounts(status="connected")
    }
    at_sim.discard("tiktok_business")
    assert set(refreshed["postforme"]) == at_sim and "tiktok" not in at_sim
    assert keyed_service.get_credentials(USER, "postforme").connected_platforms == tuple(sorted(at_sim))


# --- accounts --------------------------------------------------------------------------------------


def test_get_oauth_url_connects_an_account_for_the_user(service: SocialPostingService, sims: Sims) -> None:
    url = service.get_oauth_url(USER, "linkedin", "https://app.example.com/oauth/callback")
    assert url and url.startswith("https://www.linkedin.com/oauth/v2/authorization")
    query = parse_qs(urlsplit(url).query)
    # The user approves at LinkedIn, which sends the browser to the provider's callback.
    callback = httpx.get(query["redirect_uri"][0], params={"state": query["state"][0]})
    assert callback.status_code == 302
    assert callback.headers["location"].startswith("https://app.example.com/oauth/callback?")
    assert [a["platform"] for a in sims.pfm_accounts(external_id=USER)] == ["linkedin"]
    assert service.get_oauth_url(USER, "myspace", "https://app.example.com/cb") is None


def test_get_connected_accounts_lists_what_the_providers_have(
    service: SocialPostingService, sims: Sims
) -> None:
    sims.pfm_disconnect("youtube")
    accounts = service.get_connected_accounts(USER)
    assert {(a["provider"], a["id"]) for a in accounts if a["provider"] == "postforme"} == {
        ("postforme", a["id"]) for a in sims.pfm_accounts(status="connected")
    }
    assert {a["id"] for a in accounts if a["provider"] == "late"} == {a["_id"] for a in sims.late_accounts()}
    assert not [a for a in accounts if a["provider"] == "postforme" and a["platform"] == "youtube"]
    assert set(accounts[0]) >= {"id", "platform", "username"}


# --- posting ---------------------------------------------------------------------------------------


def test_create_post_now(service: SocialPostingService, sims: Sims, ledger) -> None:
    result = service.create_post(USER, "Hello from the API!", ["twitter", "linkedin"])
    assert isinstance(result, PostResult) and result.success and result.provider == "PostForMe"
    (post,) = sims.pfm_posts()
    assert post["id"] == result.post_id and post["caption"] == "Hello from the API!"
    assert sims.pfm_platforms_of(post) == {"x", "linkedin"}
    results = {r["social_account_id"]: r for r in sims.pfm_results(post["id"])}
    assert {r["platform_data"]["url"] for r in results.values()} == set(result.platform_post_urls.values())
    for platform, key in result.delivery_keys.items():
        record = ledger.get(key)
        assert record.status == DeliveryStatus.POSTED and record.provider_post_id == post["id"]
        assert record.post_key == post["external_id"] and record.user_id == USER
        assert record.platform_post_id == result.platform_post_ids[platform]


def test_create_post_scheduled(service: SocialPostingService, sims: Sims, ledger) -> None:
    when = datetime(2099, 6, 1, 9, 0, tzinfo=UTC)
    result = service.create_post(USER, "Scheduled post content", ["linkedin"], scheduled_for=when)
    assert result.success and result.scheduled_for == when and result.statuses == {"linkedin": "scheduled"}
    (post,) = sims.pfm_posts()
    assert post["status"] == "scheduled" and datetime.fromisoformat(post["scheduled_at"]) == when
    assert ledger.get(result.delivery_keys["linkedin"]).scheduled_for == when


def test_create_post_with_media_urls(service: SocialPostingService, sims: Sims) -> None:
    image = "https://cdn.example.com/image.jpg"
    result = service.create_post(USER, "With a photo", ["twitter"], media_urls=[image])
    assert result.success, result.error
    assert [m["url"] for m in sims.pfm_posts()[0]["media"]] == [image]


def test_create_post_twice_posts_once(service: SocialPostingService, sims: Sims, ledger) -> None:
    first = service.create_post(USER, "Only once, please", ["twitter"], campaign_id="c1", batch_number=1)
    again = service.create_post(USER, "Only once, please", ["twitter"], campaign_id="c1", batch_number=1)
    assert first.success and again.success and again.post_id == first.post_id
    assert again.actions == {"twitter": "unchanged"}
    assert sims.pfm_stats()["create_calls"] == 1
    assert [r.key for r in ledger.find_deliveries(DeliveryQuery(campaign="c1"))] == [
        first.delivery_keys["twitter"]
    ]
    # Adding a platform later posts to that platform only.
    more = service.create_post(
        USER, "Only once, please", ["twitter", "bluesky"], campaign_id="c1", batch_number=1
    )
    assert more.actions == {"twitter": "unchanged", "bluesky": "sent"}
    assert sims.pfm_stats()["create_calls"] == 2


def test_publish_batch_from_a_campaign_file(
    service: SocialPostingService, sims: Sims, ledger, workdir: Path
) -> None:
    (workdir / "campaigns" / "launch.yaml").write_text(CAMPAIGN.format(owner=USER))
    result = service.publish_batch(USER, "launch", 1, platforms=["twitter", "bluesky"])
    assert result.success, result.error
    # Keyed by the owner's user id: another user's campaign of this name is not this one.
    assert result.delivery_keys == {
        "twitter": f"{USER}:launch/teaser/twitter",
        "bluesky": f"{USER}:launch/teaser/bluesky",
    }
    (post,) = sims.pfm_posts()
    assert post["caption"] in ("Something is brewing on twitter", "Something is brewing on bluesky")
    assert ledger.get(f"{USER}:launch/teaser/bluesky").status == DeliveryStatus.POSTED
    scheduled = service.publish_batch(USER, "campaigns/launch.yaml", "reveal")
    assert scheduled.statuses == {"twitter": "scheduled", "bluesky": "scheduled"}
    assert scheduled.scheduled_for == datetime(2099, 6, 1, 9, tzinfo=UTC)
    # The same batch again (the flow would use the same keys): nothing more is sent.
    assert service.publish_batch(USER, "launch", "teaser").actions == {
        "twitter": "unchanged",
        "bluesky": "unchanged",
    }
    assert sims.pfm_stats()["create_calls"] == 2
    assert "no batch 'nope'" in service.publish_batch(USER, "launch", "nope").error


def test_publish_batch_refuses_overrides_of_a_files_batch(
    service: SocialPostingService, sims: Sims, workdir
) -> None:
    (workdir / "campaigns" / "launch.yaml").write_text(CAMPAIGN.format(owner=USER))
    result = service.publish_batch(USER, "launch", 1, media_urls=["https://cdn.example.com/x.jpg"])
    assert not result.success and "its own media and time" in result.error
    assert sims.pfm_stats()["create_calls"] == 0


# --- history ---------------------------------------------------------------------------------------


def test_get_post_history_with_limit_and_status(service: SocialPostingService, sims: Sims) -> None:
    service.create_post(USER, "posted one", ["twitter"])
    service.create_post(
        USER, "scheduled one", ["twitter"], scheduled_for=datetime.now(UTC) + timedelta(days=3)
    )
    service.create_post("someone-else", "not mine", ["twitter"])
    history = service.get_post_history(USER, limit=50)
    assert [p.content for p in history] == ["scheduled one", "posted one"]
    assert {p.provider_post_id for p in history} <= {p["id"] for p in sims.pfm_posts()}
    assert [p.content for p in service.get_post_history(USER, status="scheduled")] == ["scheduled one"]
    assert len(service.get_post_history(USER, limit=1)) == 1


def test_get_post_by_history_id_or_provider_post_id(service: SocialPostingService, sims: Sims) -> None:
    result = service.create_post(USER, "find me", ["bluesky"])
    by_provider_id = service.get_post(result.post_id)
    assert by_provider_id is not None and by_provider_id.content == "find me"
    assert by_provider_id.provider_post_id == sims.pfm_posts()[0]["id"]
    by_row_id = service.get_post(by_provider_id.id)
    assert by_row_id == by_provider_id
    assert service.get_post("00000000-0000-4000-8000-000000000000") is None
