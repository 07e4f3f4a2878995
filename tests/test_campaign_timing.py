"""The `late` policy: what publishing does with a post whose time has passed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.errors import CampaignErrors
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.timing import apply_late_policy, check_not_in_past

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def campaign(tmp_path: Path, late: str, batch_late: str = "") -> Path:
    extra = f", late: {batch_late}" if batch_late else ""
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: c\nlate: {late}\ndefaults: {{platforms: [bluesky, twitter]}}\nbatches:\n"
        f"  - {{id: past, caption: one, at: '2030-06-01 11:00'{extra}}}\n"
        "  - {id: future, caption: two, at: '2030-06-01 13:00'}\n"
        "  - {id: now, caption: three}\n"
    )
    return path


def run(path: Path):
    loaded = load_campaign(path)
    return apply_late_policy(loaded, expand(loaded), NOW)


def test_fail_is_the_default_and_names_each_late_batch_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nbatches:\n  - {id: past, caption: one, platforms: [bluesky, twitter], at: '2030-01-01'}\n"
    )
    with pytest.raises(CampaignErrors) as info:
        run(path)
    [error] = info.value.errors
    assert f"{path}:3:" in str(error) and "batch 'past' was due at 2030-01-01T00:00:00+00:00" in str(error)
    assert "late: skip" in error.fix


def test_skip_leaves_late_posts_out(tmp_path: Path) -> None:
    kept = run(campaign(tmp_path, "skip"))
    assert sorted({d.batch_id for d in kept}) == ["future", "now"]


def test_publish_now_sends_them_at_once(tmp_path: Path) -> None:
    kept = run(campaign(tmp_path, "publish_now"))
    by_batch = {d.batch_id: d.at for d in kept}
    assert by_batch == {"past": None, "future": datetime(2030, 6, 1, 13, 0, tzinfo=UTC), "now": None}


def test_a_batch_overrides_the_campaign_policy(tmp_path: Path) -> None:
    kept = run(campaign(tmp_path, "fail", batch_late="skip"))
    assert "past" not in {d.batch_id for d in kept}
    with pytest.raises(CampaignErrors):
        run(campaign(tmp_path, "skip", batch_late="fail"))


def test_the_strict_check_ignores_the_policy(tmp_path: Path) -> None:
    loaded = load_campaign(campaign(tmp_path, "skip"))
    with pytest.raises(CampaignErrors):
        check_not_in_past(loaded, expand(loaded), NOW)
    check_not_in_past(loaded, [d for d in expand(loaded) if d.batch_id != "past"], NOW)
