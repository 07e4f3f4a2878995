"""Seed 002's settings and convenience operations through the Python API, against the simulators:
network defaults and channel defaults (as campaign settings), styles, quick_post, schedule_post and
the channel queries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from postdeck.sandbox.sandbox import Sandbox
from postdeck.service import SocialPostingService
from postdeck.service.styles import get_style, list_styles
from tests.service.test_service_harness import USER, Sims

pytest_plugins = ["tests.service.test_service_harness"]

SETTINGS_CAMPAIGN = """\
name: news
timezone: UTC
defaults:
  platforms: [twitter, linkedin]
  twitter:                      # set_network_defaults("twitter", {...})
    template: "🚨 {{ caption }} 🚨"
    truncate: true              # cut_post_text: True
accounts:
  linkedin:                     # set_channel_defaults("my_linkedin", {...})
    template: "{{ caption }}\\n\\n#business #updates"
batches:
  - id: breaking
    caption: "{{ text }}"
    vars:
      text: "{long}"
"""


def captions_of(post: dict) -> dict[str, str]:
    """Each platform's caption in a Post for Me post: its own configuration, else the shared one."""
    names = {"x": "twitter"}
    configured = post.get("platform_configurations") or {}
    return {
        names.get(a["platform"], a["platform"]): (configured.get(a["platform"]) or {}).get("caption")
        or post["caption"]
        for a in post["social_accounts"]
    }


def test_network_and_channel_defaults(service: SocialPostingService, sims: Sims, workdir: Path) -> None:
    text = "Roastery update: " + "beans " * 60
    (workdir / "campaigns" / "news.yaml").write_text(SETTINGS_CAMPAIGN.replace("{long}", text.strip()))
    result = service.publish_batch(None, "news", "breaking")
    assert result.success, result.error
    captions = captions_of(sims.pfm_posts()[0])
    assert captions["twitter"].startswith("🚨 Roastery update: beans")
    # Cut to X's limit inside the style's wrapper: the wrapper's own closing text stays whole.
    assert len(captions["twitter"]) <= 280 and captions["twitter"].endswith("… 🚨")
    assert captions["linkedin"] == text.strip() + "\n\n#business #updates"


def test_styles_are_saved_listed_and_used(service: SocialPostingService, sims: Sims, workdir: Path) -> None:
    (workdir / "styles.yaml").write_text(
        "my_announcement:\n"
        '  template: "📢 Important Update:\\n\\n{{ caption }}"\n'
        "  twitter:\n"
        '    template: "🎯 {{ caption }}"\n'
        "blog:\n"
        '  template: "{{ caption }} (on the blog)"\n'
    )
    assert set(list_styles()) == {"my_announcement", "blog"}
    assert get_style("blog") == {"template": "{{ caption }} (on the blog)"}
    result = service.create_post(USER, "We moved!", ["twitter", "facebook"], style="my_announcement")
    assert result.success, result.error
    assert captions_of(sims.pfm_posts()[0]) == {
        "twitter": "🎯 We moved!",
        "facebook": "📢 Important Update:\n\nWe moved!",
    }


def test_quick_post_to_every_active_channel(service: SocialPostingService, sims: Sims, box: Sandbox) -> None:
    for platform in ("instagram", "tiktok", "youtube", "pinterest", "facebook"):
        sims.pfm_disconnect(platform)
        box.late.set_connected(platform, False)
    result = service.create_post(USER, "Hello world! Check out our latest update!", "all")
    assert result.success and set(result.statuses) == {"twitter", "linkedin", "threads", "bluesky"}
    assert sims.pfm_platforms_of(sims.pfm_posts()[0]) == {"x", "linkedin", "threads", "bluesky"}


def test_schedule_post_with_a_phrase(service: SocialPostingService, sims: Sims) -> None:
    result = service.create_post(
        USER, "Don't miss tomorrow's sale!", ["linkedin"], scheduled_for="2099-03-01 10:00"
    )
    assert result.success and result.scheduled_for == datetime(2099, 3, 1, 10, tzinfo=UTC)  # naive = UTC
    relative = service.create_post(USER, "In two days", ["threads"], scheduled_for="2d")
    assert relative.statuses == {"threads": "scheduled"}
    assert {p["status"] for p in sims.pfm_posts()} == {"scheduled"}


def test_channel_queries(service: SocialPostingService, sims: Sims) -> None:
    sims.pfm_disconnect("facebook")
    facebook = service.accounts(platform="facebook")  # get_channels_by_type
    assert {(a.provider, a.connected) for a in facebook} == {("postforme", False), ("late", True)}
    assert {a.provider for a in service.accounts(platform="facebook", active=True)} == {"late"}
    named = service.accounts(name="BSKY")  # get_channel_by_name: partial, any case
    assert {a.platform for a in named} == {"bluesky"}
    every = service.accounts()  # channels
    assert len(every) == len(sims.pfm_accounts()) + len(sims.late_accounts())


def test_a_refused_platform_never_blocks_the_same_content_elsewhere(
    service: SocialPostingService, sims: Sims
) -> None:
    refused = service.create_post(USER, "One text, two fates", ["youtube"])
    assert not refused.success and "youtube" in (refused.error or "").lower()
    sent = service.create_post(USER, "One text, two fates", ["linkedin"])
    assert sent.success, sent.error
    repeat = service.create_post(USER, "One text, two fates", ["linkedin"])
    assert repeat.success and sims.pfm_stats()["create_calls"] == 1
    # Under the caller's own key too (a calendar batch): the refused platform does not stick to it.
    keyed = service.create_post(USER, "Keyed text", ["youtube"], idempotency_key="k1")
    assert not keyed.success
    keyed = service.create_post(USER, "Keyed text", ["twitter"], idempotency_key="k1")
    assert keyed.success, keyed.error
    grown = service.create_post(USER, "Keyed text", ["twitter", "threads"], idempotency_key="k1")
    assert grown.success and sims.pfm_stats()["create_calls"] == 3  # only threads was new
