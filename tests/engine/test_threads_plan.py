"""`postdeck plan` and `validate` on threads, first comments and routing by capability: every part
with its length, the first comment, which provider and why; what no provider can do, refused."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.engine.plan_file import load_plan

runner = CliRunner()

CAMPAIGN = """\
name: c
batches:
  - id: t
    caption: "one"
    platforms: [twitter]
    thread:
      - caption: "two {{ 'x' * 10 }}"
      - caption: "three"
  - id: f
    caption: "hello"
    platforms: [linkedin, bluesky]
    linkedin: {first_comment: "the link: https://example.com"}
  - id: p
    caption: "clip"
    platforms: [tiktok]
    media: [clip.mp4]
    tiktok: {privacy: MUTUAL_FOLLOW_FRIENDS}
"""


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(folder: Path, text: str = CAMPAIGN) -> Path:
    clip = Path(__file__).parents[1] / "bad_campaigns" / "media" / "clip.mp4"
    (folder / "clip.mp4").write_bytes(clip.read_bytes())
    path = folder / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_json_plan_has_every_part_with_its_length_and_the_route(tmp_path: Path) -> None:
    path = write(tmp_path)
    out = tmp_path / "plan.json"
    result = invoke("plan", str(path), "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    changes = {c["key"]: c for c in json.loads(out.read_text(encoding="utf-8"))["changes"]}
    thread = changes["c/t/twitter"]
    assert [p["caption"] for p in thread["delivery"]["thread"]] == ["two xxxxxxxxxx", "three"]
    assert thread["length"] == {"length": 3, "limit": 280, "unit": "x_weighted"}
    assert thread["part_lengths"] == [
        {"length": 14, "limit": 280, "unit": "x_weighted"},
        {"length": 5, "limit": 280, "unit": "x_weighted"},
    ]
    assert thread["route"] == "via Zernio (LATE) only: a thread on X"
    assert changes["c/f/linkedin"]["route"] == "via Zernio (LATE) only: a first comment on LinkedIn"
    assert changes["c/f/linkedin"]["delivery"]["options"] == {
        "first_comment": "the link: https://example.com"
    }
    assert "route" not in changes["c/f/bluesky"] and "part_lengths" not in changes["c/f/bluesky"]
    assert (
        changes["c/p/tiktok"]["route"] == "via Zernio (LATE) only: privacy 'MUTUAL_FOLLOW_FRIENDS' on TikTok"
    )
    saved = {c.key: c for c in load_plan(out).changes}  # what `publish --plan` reads back
    assert saved["c/t/twitter"].delivery.thread[1].caption == "three"
    assert [n.length for n in saved["c/t/twitter"].part_lengths] == [14, 5]


def test_the_markdown_plan_shows_the_parts_the_comment_and_why_late(tmp_path: Path) -> None:
    result = invoke("plan", str(write(tmp_path)), "--format", "markdown")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "`t`" in line)
    assert "(1/3) one<br>(2/3) two xxxxxxxxxx<br>(3/3) three" in row
    assert "(1/3) 3/280 weighted<br>(2/3) 14/280 weighted<br>(3/3) 5/280 weighted" in row
    assert "via Zernio (LATE) only: a thread on X" in row
    linkedin = next(line for line in result.output.splitlines() if "`f`" in line and "linkedin" in line)
    assert "hello<br>first comment: the link: https://example.com" in linkedin
    assert "comment 29/3000" in linkedin


def test_validate_and_plan_refuse_what_no_configured_provider_can_do(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: c\nbatches:\n  - id: a\n    caption: hi\n    platforms: [bluesky, pinterest]\n"
        "    thread: [{caption: more}]\n    first_comment: below\n",
    )
    for command in ("validate", "plan"):
        result = invoke(command, str(path))
        assert result.exit_code == 1
        text = " ".join(result.output.split())
        assert (
            "pinterest: no provider in the chain (Post for Me, Zernio (LATE)) can publish a thread on Pinterest"
            in text
        )
        assert "can publish a first comment on Bluesky" in text
        assert "can publish a first comment on Pinterest" in text
