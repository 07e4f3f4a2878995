"""The `late` policy: what publishing does with a post whose time has passed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.errors import CampaignError, CampaignErrors
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


# Berlin moves its clocks forward on 2027-03-28 (02:00 → 03:00) and back on 2027-10-31 (03:00 → 02:00).
def berlin(tmp_path: Path, at: str, extra: str = "", cadence: str = "") -> Path:
    path = tmp_path / "berlin.yaml"
    path.write_text(
        f"name: c\ntimezone: Europe/Berlin\n{cadence}defaults: {{platforms: [bluesky]}}\nbatches:\n"
        f"  - {{id: b, caption: one{at}{extra}}}\n"
    )
    return path


def refusal(path: Path) -> CampaignError:
    with pytest.raises(CampaignErrors) as info:
        expand(load_campaign(path))
    (error,) = info.value.errors
    return error


def test_a_time_in_the_spring_gap_is_refused_with_the_nearest_valid_times(tmp_path: Path) -> None:
    error = refusal(berlin(tmp_path, ", at: '2027-03-28 02:30'"))
    assert "2027-03-28 02:30 does not exist in Europe/Berlin" in error.message
    assert "2027-03-28 01:59 and 2027-03-28 03:00" in error.message
    assert error.field == "batches[0].at" and error.location.line == 5


def test_a_time_that_happens_twice_is_refused_unless_the_campaign_says_which(tmp_path: Path) -> None:
    error = refusal(berlin(tmp_path, ", at: '2027-10-31 02:30'"))
    assert "2027-10-31 02:30 happens twice in Europe/Berlin" in error.message
    assert (
        "2027-10-31 02:30+02:00, then as 2027-10-31 02:30+01:00" in error.message and "fold: 1" in error.fix
    )
    assert error.field == "batches[0].at"

    def at(extra: str, written: str = "2027-10-31 02:30") -> datetime:
        (delivery,) = expand(load_campaign(berlin(tmp_path, f", at: '{written}'", extra)))
        return delivery.at

    assert at(", fold: 0") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 02:30 (summer time)
    assert at(", fold: 1") == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # the second (winter time)
    assert at("", "2027-10-31 02:30+01:00") == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert at(", fold: 1", "2027-06-01 09:00") == datetime(2027, 6, 1, 7, tzinfo=UTC)  # no effect


def test_a_fold_does_not_make_a_missing_time_exist(tmp_path: Path) -> None:
    assert "does not exist" in refusal(berlin(tmp_path, ", at: '2027-03-28 02:30'", ", fold: 1")).message


def test_a_cadence_start_is_checked_too(tmp_path: Path) -> None:
    gap = berlin(tmp_path, "", cadence="cadence: {start: '2027-03-28 02:15', every: 1d}\n")
    error = refusal(gap)
    assert "does not exist" in error.message and error.field == "cadence.start"
    twice = "cadence: {start: '2027-10-31 02:15', every: 1d, fold: 1}\n"
    (delivery,) = expand(load_campaign(berlin(tmp_path, "", cadence=twice)))
    assert delivery.at == datetime(2027, 10, 31, 1, 15, tzinfo=UTC)
