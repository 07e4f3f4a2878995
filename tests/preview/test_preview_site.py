"""The preview's Python side: data from the plan and ledger, safe embedding, counts and cuts, crops,
the command. (The page itself is tested in a browser: tests/preview/test_preview_browser.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.core.platform import Platform
from postdeck.errors import CampaignError
from postdeck.preview.site import embedded_json
from postdeck.preview.text import caption_diff, cuts
from postdeck.preview.thumbs import Thumbnails, crop_aspect
from postdeck.schemas.counting import measure
from postdeck.schemas.media import MediaRef
from postdeck.schemas.media_probe import probe
from tests.preview_campaign import HOSTILE_CAPTION, NEW_CAPTION, OLD_CAPTION, review_site

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def page_data(index: Path) -> dict:
    text = index.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="postdeck-data">(.*?)</script>', text, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_hostile_text_cannot_end_the_data_element(tmp_path: Path) -> None:
    embedded = embedded_json({"caption": HOSTILE_CAPTION, "line": "a\u2028b"})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded and "\u2028" not in embedded
    assert json.loads(embedded) == {"caption": HOSTILE_CAPTION, "line": "a\u2028b"}
    site = review_site(tmp_path)
    html = site.built.index.read_text(encoding="utf-8")
    assert html.count("</script>") == 2 and "<!-- end" not in html
    assert HOSTILE_CAPTION in page_data(site.built.index)["captions"]


def test_the_page_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    html = review_site(tmp_path).built.index.read_text(encoding="utf-8")
    assert not re.search(r"<(link|img|iframe)\b|<script\s+src", html)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy and "default-src 'none'" in policy.group(1) and "unsafe-eval" not in policy.group(1)


def test_cards_carry_plan_action_ledger_status_and_their_findings(tmp_path: Path) -> None:
    data = page_data(review_site(tmp_path).built.index)
    cards = {(c["batch"], c["platform"]): c for c in data["cards"]}
    assert cards[("late-night", "twitter")]["day"] == "2030-03-02"  # New York's day...
    assert cards[("late-night", "twitter")]["at"] == "2030-03-03T02:30:00+00:00"  # ...not UTC's
    assert cards[("late-night", "twitter")]["time"] == "21:30"
    changed = cards[("changed", "linkedin")]
    assert (changed["action"], changed["status"]) == ("update", "scheduled")
    assert "".join(t for _, t in changed["diff"]["old"]) == OLD_CAPTION
    assert "".join(t for _, t in changed["diff"]["new"]) == NEW_CAPTION
    assert (cards[("done", "threads")]["status"], cards[("done", "threads")]["action"]) == (
        "posted",
        "unchanged",
    )
    assert cards[("broke", "bluesky")]["error"] == "rejected: the image is too large"
    assert cards[("late-night", "twitter")]["status"] == "none"
    hostile = cards[("hostile", "instagram")]
    assert [f["severity"] for f in hostile["findings"]] == ["error"]
    assert all(not c["findings"] for key, c in cards.items() if key != ("hostile", "instagram"))
    assert hostile["media"][0]["crop"] == "1.91:1"


def test_cuts_mark_the_longest_prefix_each_network_keeps() -> None:
    caption = "Roasting " + "é" * 150 + " 😀" * 100 + " https://example.com/" + "a" * 50
    by = {cut["platform"]: cut for cut in cuts(caption)}
    x = by["twitter"]
    assert x["length"] == measure(caption, x["unit"]) > x["limit"] == 280  # its tightest limit
    kept = caption.encode("utf-16-le")[: x["keep"] * 2].decode("utf-16-le")
    longer = caption[: len(kept) + 1]
    assert all(measure(kept, unit) <= 280 for unit in ("x_weighted", "utf16"))  # X's and Post for Me's
    assert any(measure(longer, unit) > 280 for unit in ("x_weighted", "utf16"))
    assert by["threads"]["unit"] == "threads"
    short = cuts("short")
    assert all(cut["keep"] == len("short") and cut["length"] <= cut["limit"] for cut in short)


def test_caption_diff_segments_join_back_into_each_caption() -> None:
    diff = caption_diff("a b c d", "a x c d e")
    assert "".join(t for _, t in diff["old"]) == "a b c d"
    assert "".join(t for _, t in diff["new"]) == "a x c d e"
    assert [t.strip() for kind, t in diff["old"] if kind == "del"] == ["b"]
    assert [t.strip() for kind, t in diff["new"] if kind == "ins"] == ["x", "e"]


def test_thumbnails_take_the_network_crop(tmp_path: Path) -> None:
    source = tmp_path / "wide.jpg"
    Image.new("RGB", (1000, 400), "blue").save(source)
    ref = MediaRef("wide.jpg", path=source, sha256="ab" * 32, content_type="image/jpeg")
    probe(ref)
    assert crop_aspect(Platform.INSTAGRAM, 2.5) == 1.91
    assert crop_aspect(Platform.TIKTOK, 2.5) == 1.7778
    assert crop_aspect(Platform.LINKEDIN, 2.5) == 2.5  # no rule: its own shape
    thumbs = Thumbnails(tmp_path / "site")
    shown = thumbs.media(ref, Platform.INSTAGRAM)
    with Image.open(tmp_path / "site" / shown["thumb"]) as image:
        assert abs(image.width / image.height - 1.91) < 0.01
    assert "cropped by Instagram to 1.91:1" in shown["alt"]
    remote = thumbs.media(
        MediaRef("https://cdn.example/v.mp4", url="https://cdn.example/v.mp4"), Platform.TWITTER
    )
    assert remote["thumb"] is None and "no preview" in remote["alt"]


def test_command_writes_the_example_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = runner.invoke(app, ["preview", str(REPO / "campaigns/example.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").as_uri() in result.output.replace("\n", "")
    data = page_data(out / "index.html")
    assert len(data["cards"]) == 18 and all(c["action"] == "create" for c in data["cards"])
    assert list((out / "thumbs").glob("*.jpg"))
    missing = runner.invoke(app, ["preview", str(tmp_path / "nope.yaml"), "--out", str(out)])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_month_markdown_places_deliveries_on_their_local_day_with_status_and_link() -> None:
    from datetime import UTC, datetime

    from postdeck.preview.month_table import PER_DAY, month_markdown
    from postdeck.schemas.validation import check_file

    deliveries = [item.delivery for item in check_file(REPO / "campaigns/spring-launch.yaml").prepared]
    reports = [{"key": d.key, "action": "sent", "status": "scheduled", "url": None} for d in deliveries]
    first = next(r for r, d in zip(reports, deliveries, strict=True) if d.platform == Platform.TWITTER)
    first.update(status="posted", url="https://x.example/a|b)")
    text = month_markdown("spring-launch", "Europe/Berlin", deliveries, reports, datetime.now(UTC))
    assert "### March 2030" in text and "| Mon | Tue | Wed | Thu | Fri | Sat | Sun |" in text
    saturday = next(line for line in text.splitlines() if "**2**<br>" in line).split(" | ")[5]
    assert saturday.startswith("**2**<br>09:00 Bluesky scheduled")  # 08:00 UTC, 09:00 in Berlin
    assert "09:00 X [posted](https://x.example/a%7Cb%29)" in saturday
    march_7 = next(
        cell for line in text.splitlines() for cell in line.split(" | ") if cell.startswith("**7**")
    )
    assert march_7.count("<br>") == PER_DAY + 1 and march_7.endswith("+3 more")  # 7 deliveries that day


def test_a_publish_now_delivery_with_an_outcome_is_on_the_day_it_was_sent(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from postdeck.core.outcome import Outcome
    from postdeck.core.status import DeliveryStatus
    from postdeck.ledger.records import ClaimRequest
    from postdeck.ledger.sqlite import SqliteLedger
    from postdeck.preview.generate import generate
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    path = tmp_path / "now.yaml"
    path.write_text(
        "name: now\ntimezone: Asia/Tokyo\nbatches:\n  - {id: a, caption: hi, platforms: [bluesky, twitter]}\n"
    )
    ledger = SqliteLedger()
    sent = datetime(2030, 1, 9, 20, 0, tzinfo=UTC)  # 10 January in Tokyo
    bluesky = next(d for d in expand(load_campaign(path)) if d.platform == Platform.BLUESKY)
    ledger.claim(
        ClaimRequest(bluesky.key, "now", "a", "bluesky", bluesky.content_hash, bluesky.schedule_hash, "hi", None),
        owner="t", lease_seconds=60, now=sent,
    )  # fmt: skip
    ledger.record(bluesky.key, Outcome(DeliveryStatus.POSTED, url="https://bsky.app/x"), owner="t", now=sent)
    built = generate([path], tmp_path / "site", ledger, datetime(2030, 2, 1, 3, 0, tzinfo=UTC))
    cards = {c["platform"]: c for c in page_data(built.index)["cards"]}
    assert (cards["bluesky"]["day"], cards["bluesky"]["time"]) == ("2030-01-10", "05:00")
    assert cards["bluesky"]["sent_at"] == sent.isoformat()
    assert (cards["twitter"]["day"], cards["twitter"]["sent_at"]) == ("2030-02-01", None)  # not sent: today


def test_an_invalid_campaign_is_still_previewed_with_its_errors_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(
        "name: long\nbatches:\n  - {id: a, caption: '" + "x" * 400 + "', platforms: [bluesky, linkedin]}\n"
    )
    out = tmp_path / "site"
    result = runner.invoke(app, ["preview", str(path), "--out", str(out)])
    assert (
        result.exit_code == 1 and "400 graphemes" in result.output and "shown in the preview" in result.output
    )
    cards = {c["platform"]: c for c in page_data(out / "index.html")["cards"]}
    assert "400 graphemes" in cards["bluesky"]["findings"][0]["text"] and cards["linkedin"]["findings"] == []
    assert cards["bluesky"]["length"]["fits"] is False
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nbatches: [\n")
    result = runner.invoke(app, ["preview", str(broken), "--out", str(tmp_path / "other")])
    # The CLI's main() prints a PostdeckError as one red line: here it is the exception, with its place.
    assert isinstance(result.exception, CampaignError) and f"{broken}:3:1" in str(result.exception)
    assert not (tmp_path / "other" / "index.html").exists()


def test_many_files_are_previewed_together(tmp_path: Path) -> None:
    """Past validation's PARALLEL_FROM files, workers check them: the preview still needs the models."""
    from postdeck.schemas.validation import PARALLEL_FROM

    for n in range(PARALLEL_FROM + 1):
        (tmp_path / f"c{n}.yaml").write_text(
            f"name: c{n}\nbatches:\n  - {{id: a, caption: hi {n}, platforms: [bluesky]}}\n"
        )
    result = runner.invoke(app, ["preview", str(tmp_path), "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    data = page_data(tmp_path / "site" / "index.html")
    assert sorted(c["name"] for c in data["campaigns"]) == sorted(f"c{n}" for n in range(PARALLEL_FROM + 1))
    assert len(data["cards"]) == PARALLEL_FROM + 1


def test_cuts_say_what_each_network_does_with_links() -> None:
    by = {
        cut["platform"]: cut
        for cut in cuts("New roast: https://northside-roasters.com/spring and example.com")
    }
    assert by["twitter"]["links"].startswith("2 link(s): X counts every link as 23")
    assert "in full" in by["bluesky"]["links"] and "5 distinct links" in by["threads"]["links"]
    assert all(cut["links"] == "" for cut in cuts("no links here"))


def test_findings_on_no_card_are_kept_for_the_page(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from postdeck.ledger.sqlite import SqliteLedger
    from postdeck.preview.generate import generate

    path = tmp_path / "c.yaml"  # batch b's template fails to render: it has no card, its error stays
    path.write_text(
        "name: c\nbatches:\n  - {id: a, caption: fine, platforms: [bluesky]}\n"
        "  - {id: b, caption: '{{ missing }}', platforms: [bluesky]}\n"
    )
    built = generate([path], tmp_path / "site", SqliteLedger(), datetime(2030, 1, 1, tzinfo=UTC))
    data = page_data(built.index)
    assert [c["batch"] for c in data["cards"]] == ["a"] and built.errors
    assert [f["text"] for f in data["campaigns"][0]["findings"]] == [str(e) for e in built.errors]


def test_the_legend_names_every_plan_action_and_ledger_status(tmp_path: Path) -> None:
    """Drawn from the plan's and the ledger's own lists: an action added there (drift, by plan
    --refresh and by a cancel outside the file) cannot be missing from the page's legend."""
    from postdeck.core.status import DeliveryStatus
    from postdeck.engine.plan import Action

    legend = page_data(review_site(tmp_path).built.index)["legend"]
    assert [a["value"] for a in legend["actions"]] == [a.value for a in Action]
    assert [s["value"] for s in legend["statuses"]] == [*(s.value for s in DeliveryStatus), "none"]
    assert all(entry["text"] for entry in legend["actions"] + legend["statuses"])
    drift = next(a for a in legend["actions"] if a["value"] == "drift")
    assert "cancelled outside" in drift["text"] and "plan --refresh" in drift["text"]


def test_a_delivery_cancelled_outside_the_file_is_a_drift_card(tmp_path: Path) -> None:
    from tests.preview_campaign import drift_site

    site = drift_site(tmp_path)
    cards = {c["batch"]: c for c in page_data(site.built.index)["cards"]}
    assert (cards["cancelled"]["action"], cards["cancelled"]["status"]) == ("drift", "cancelled")
    assert "cancelled outside the file" in cards["cancelled"]["reason"]
    assert cards["fresh"]["action"] == "create"
