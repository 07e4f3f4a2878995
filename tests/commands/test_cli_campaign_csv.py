"""`postdeck campaign new NAME --from-csv FILE` through the real CLI: rows become batches that load,
render and validate as the CSV says; every bad row is told as file.csv:ROW:COLUMN, all at once, and
nothing is written unless every row is good."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postdeck import csv_sheet
from postdeck.core.platform import Platform
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.schedule import batch_times
from tests.conftest import REPO
from tests.service.test_service_harness import Run, run_cli

pytest_plugins = ["tests.service.test_service_harness"]

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = datetime(2099, 3, 20, 9, 0)  # naive, in Berlin: the rows cross the switch to summer time
HEADER = ["at", "caption", "platforms", "media", "x.caption", "linkedin.caption"]


def sheet(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def new(capsys, csv_name: str, *extra: str, name: str = "imported") -> Run:
    return run_cli(
        capsys, "campaign", "new", name, "--from-csv", csv_name, "--timezone", "Europe/Berlin", *extra
    )


@pytest.fixture
def media(workdir: Path) -> Path:
    folder = workdir / "campaigns" / "media"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(REPO / "campaigns" / "media" / "spring-roast.jpg", folder / name)
    return folder


def hundred_rows() -> list[list[str]]:
    """Every cell form a spreadsheet writes: commas, quotes, line breaks, emoji, template-looking text,
    both list separators, per-platform captions, blank optional cells."""
    rows = []
    platform_cells = ["x;linkedin", "x, linkedin, bluesky", "linkedin", "instagram;linkedin", "x"]
    media_cells = ["", "media/a.jpg", "media/a.jpg; media/b.jpg", "media/b.jpg", ""]
    for n in range(100):
        at = (FIRST + timedelta(hours=13 * n)).isoformat(sep=" ", timespec="minutes")
        caption = [
            f"Post {n}: plain",
            f'Post {n}: "quoted", with commas, and 🚀',
            f"Post {n}\nsecond line\n\nafter a blank line",
            f"Post {n}: use {{{{ coupon }}}} and {{% raw %}} as written",
            f"  Post {n}: spaces around  ",
        ][n % 5]
        platforms = platform_cells[n % 5]
        media = media_cells[n % 5] if "instagram" not in platforms else "media/a.jpg"
        x_caption = f"Post {n} for X #launch" if n % 3 == 0 and "x" in platforms else ""
        linkedin_caption = (
            f"Post {n} for LinkedIn\nwith a line" if n % 4 == 0 and "linkedin" in platforms else ""
        )
        rows.append([at, caption, platforms, media, x_caption, linkedin_caption])
    return rows


def test_a_hundred_rows_round_trip_to_a_valid_campaign(capsys, workdir: Path, media: Path) -> None:
    rows = hundred_rows()
    (workdir / "posts.csv").write_text("\ufeff" + sheet(rows), encoding="utf-8")  # Excel's "CSV UTF-8"
    result = new(capsys, "posts.csv")
    assert result.code == 0, result.err
    path = workdir / "campaigns" / "imported.yaml"
    assert f"wrote {Path('campaigns/imported.yaml')}: 100 posts" in result.out
    loaded = load_campaign(path)  # the real loader, strict
    campaign = loaded.campaign
    assert campaign.timezone == "Europe/Berlin" and len(campaign.batches) == 100
    times = batch_times(campaign)
    deliveries = expand(loaded)
    for n, (row, batch, at) in enumerate(zip(rows, campaign.batches, times, strict=True)):
        cell_at, caption, platform_cell, media_cell, x_caption, linkedin_caption = row
        assert at == datetime.fromisoformat(cell_at).replace(tzinfo=BERLIN).astimezone(UTC), n
        names = [p.strip().replace("x", "twitter") for p in platform_cell.replace(";", ",").split(",")]
        assert campaign.platforms_of(batch) == [Platform(p) for p in names], n
        assert batch.media == [m.strip() for m in media_cell.split(";") if m.strip()], n
        rendered = {d.platform: d.caption for d in deliveries if d.batch_id == batch.id}
        expected = {p: caption.strip() for p in rendered}
        if x_caption:
            expected[Platform.TWITTER] = x_caption
        if linkedin_caption and Platform.LINKEDIN in expected:
            expected[Platform.LINKEDIN] = linkedin_caption
        assert rendered == expected, n
    # Spring forward on 2099-03-29: 09:00 Berlin is 08:00 UTC before, 07:00 after.
    assert times[0] == datetime(2099, 3, 20, 8, tzinfo=UTC)
    assert run_cli(capsys, "validate", str(path)).code == 0


def test_three_bad_rows_are_each_named_and_nothing_is_written(capsys, workdir: Path, media: Path) -> None:
    rows = [[f"2099-06-{day:02d} 09:00", f"Post {day}", "x;linkedin", "", "", ""] for day in range(1, 11)]
    rows[1][2] = "x;mastodon"  # row 3
    rows[4][0] = "2099-06-31 09:00"  # row 6: June has 30 days
    rows[7][4] = "y" * 281  # row 9: over X's 280
    (workdir / "posts.csv").write_text(sheet(rows))
    result = new(capsys, "posts.csv")
    assert result.code == 1
    lines = result.err.removeprefix("error: ").splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "posts.csv:3:platforms",
        "posts.csv:6:at",
        "posts.csv:9:x.caption",
    ], result.err
    assert "'mastodon' is not one of" in lines[0]
    assert "day value is outside expected range" in lines[1]
    assert "280" in lines[2]
    assert sorted(p.name for p in (workdir / "campaigns").iterdir()) == ["media"]  # nothing written


def test_missing_media_and_a_past_time_are_located(capsys, workdir: Path, media: Path) -> None:
    rows = [
        ["2099-06-01 09:00", "fine", "linkedin", "media/a.jpg", "", ""],
        ["2099-06-02 09:00", "where is it", "linkedin", "media/a.jpg;media/gone.jpg", "", ""],
        ["2020-06-03 09:00", "too late", "linkedin", "", "", ""],
        ["2099-03-29 02:30", "the clocks skip it", "linkedin", "", "", ""],  # spring forward in Berlin
    ]
    (workdir / "posts.csv").write_text(sheet(rows))
    result = new(capsys, "posts.csv")
    assert result.code == 1
    assert "posts.csv:3:media: media file not found: media/gone.jpg" in result.err
    assert "posts.csv:4:at: 2020-06-03 09:00+02:00 has passed" in result.err
    assert "posts.csv:5:at: " in result.err and "does not exist" in result.err
    assert not (workdir / "campaigns" / "imported.yaml").exists()


def test_option_columns_use_the_campaign_names(capsys, workdir: Path, media: Path) -> None:
    header = ["at", "caption", "platforms", "media", "pinterest.board", "pinterest.link", "truncate"]
    rows = [["2099-06-01 09:00", "A pin", "pinterest", "media/a.jpg", "1234", "https://example.com/p", "yes"]]
    (workdir / "pins.csv").write_text(sheet(rows, header))
    result = new(capsys, "pins.csv")
    assert result.code == 0, result.err
    (batch,) = load_campaign(workdir / "campaigns" / "imported.yaml").campaign.batches
    assert batch.pinterest is not None
    assert (batch.pinterest.board, batch.pinterest.link, batch.truncate) == (
        "1234",
        "https://example.com/p",
        True,
    )
    bad_header = ["at", "caption", "platforms", "youtube.privacy"]
    (workdir / "bad.csv").write_text(
        sheet([["2099-06-01 09:00", "A video", "linkedin", "secret"]], bad_header)
    )
    bad = new(capsys, "bad.csv", name="bad")
    assert bad.code == 1 and "bad.csv:2:youtube.privacy: 'secret' is not one of" in bad.err


def test_semicolon_delimited_sheets_as_excel_writes_them(capsys, workdir: Path) -> None:
    rows = [["2099-06-01 09:00", "Hallo, Welt", "x, linkedin", "", "", ""]]
    (workdir / "posts.csv").write_text("\ufeff" + sheet(rows, delimiter=";"), encoding="utf-8")
    assert new(capsys, "posts.csv").code == 0
    (delivery, _) = expand(load_campaign(workdir / "campaigns" / "imported.yaml"))
    assert delivery.caption == "Hallo, Welt"


def test_an_existing_file_is_kept_unless_forced(capsys, workdir: Path) -> None:
    path = workdir / "campaigns" / "imported.yaml"
    path.write_text("keep me")
    (workdir / "posts.csv").write_text(sheet([["2099-06-01 09:00", "new", "linkedin", "", "", ""]]))
    refused = new(capsys, "posts.csv")
    assert refused.code == 1 and "exists" in refused.err and path.read_text() == "keep me"
    (workdir / "bad.csv").write_text(sheet([["2099-06-01 09:00", "new", "mastodon", "", "", ""]]))
    assert new(capsys, "bad.csv", "--force").code == 1 and path.read_text() == "keep me"
    assert new(capsys, "posts.csv", "--force").code == 0
    assert load_campaign(path).campaign.batches[0].caption == "new"


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("=cmd|' /C calc'!A0", "caption"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "caption"),
        ("+cmd|x", "x.caption"),
        ('=HYPERLINK("http://evil")', "media"),
    ],
)
def test_formula_looking_cells_are_refused(capsys, workdir: Path, cell: str, column: str) -> None:
    row = {
        "at": "2099-06-01 09:00",
        "caption": "ok",
        "platforms": "x",
        "media": "",
        "x.caption": "",
        "linkedin.caption": "",
    }
    row[column] = cell
    (workdir / "posts.csv").write_text(
        sheet([["2099-06-02 09:00", "fine", "x", "", "", ""], list(row.values())])
    )
    result = new(capsys, "posts.csv")
    assert result.code == 1
    assert f"posts.csv:3:{column}: " in result.err and "looks like a spreadsheet formula" in result.err
    assert "posts.csv:2" not in result.err  # the good row is not blamed
    assert not (workdir / "campaigns" / "imported.yaml").exists()


def test_a_leading_apostrophe_keeps_formula_like_text(capsys, workdir: Path) -> None:
    rows = [
        ["2099-06-01 09:00", "'=2+2 is 4", "linkedin", "", "", ""],
        ["2099-06-02 09:00", "-5% today, @alice (thanks) 'quoted'", "linkedin", "", "", ""],
    ]
    (workdir / "posts.csv").write_text(sheet(rows))
    assert new(capsys, "posts.csv").code == 0, capsys
    captions = [d.caption for d in expand(load_campaign(workdir / "campaigns" / "imported.yaml"))]
    assert captions == ["=2+2 is 4", "-5% today, @alice (thanks) 'quoted'"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hello,world\nhow,are you\n",
            ["posts.csv:1:Hello: unknown column 'Hello'", "posts.csv:1: no 'at' column"],
        ),
        (
            "at,caption,youtube.titel\n",
            ["posts.csv:1:youtube.titel: unknown column 'youtube.titel' (youtube columns are"],
        ),
        (
            "at,caption,mastodon.caption\n",
            ["unknown column 'mastodon.caption' (a platform column starts with a platform"],
        ),
        (
            "at,caption,Caption\n2099-06-01 09:00,a,b\n",
            ["posts.csv:1:Caption: column 'Caption' appears twice"],
        ),
        ("at,caption\n2099-06-01 09:00,a,b,c\n", ["posts.csv:2: 4 cells, but the header names 2 columns"]),
        ('at,caption\n2099-06-01 09:00,"never closed\n', ["posts.csv:2: not readable as CSV"]),
        (
            "at,caption\n,no time\n2099-06-01 09:00,\n",
            ["posts.csv:2:at: at is empty", "posts.csv:3:caption: caption is empty"],
        ),
        ("", ["posts.csv: the file is empty"]),
        ("at,caption\n\n,,\n", ["posts.csv: the file has a header but no posts"]),
    ],
)
def test_a_wrong_sheet_says_what_is_wrong(capsys, workdir: Path, text: str, expected: list[str]) -> None:
    (workdir / "posts.csv").write_text(text)
    result = new(capsys, "posts.csv")
    assert result.code == 1
    for part in expected:
        assert part in result.err
    assert not (workdir / "campaigns" / "imported.yaml").exists()


def test_text_that_is_not_utf8_is_located(capsys, workdir: Path) -> None:
    (workdir / "posts.csv").write_bytes(b"at,caption\n2099-06-01 09:00,caf\xe9\n")  # Latin-1
    result = new(capsys, "posts.csv")
    assert (
        result.code == 1
        and "posts.csv: line 2 is not UTF-8 text (byte 0xe9) (save the sheet as CSV UTF-8)" in result.err
    )


def test_a_huge_file_is_refused_before_it_is_read(capsys, workdir: Path) -> None:
    path = workdir / "posts.csv"
    with path.open("wb") as out:
        out.write(b"at,caption\n")
        out.truncate(csv_sheet.MAX_BYTES + 1)  # sparse: a huge file without writing it
    result = new(capsys, "posts.csv")
    assert result.code == 1 and "more than the 4,194,304 a CSV import takes" in result.err


@pytest.mark.slow
def test_too_many_rows_are_refused(capsys, workdir: Path) -> None:
    rows = "".join(f"2099-06-01 09:00,post {n}\n" for n in range(csv_sheet.MAX_ROWS + 1))
    (workdir / "posts.csv").write_text("at,caption\n" + rows)
    result = new(capsys, "posts.csv")
    assert (
        result.code == 1
        and f"posts.csv:{csv_sheet.MAX_ROWS + 2}: more than {csv_sheet.MAX_ROWS} rows" in result.err
    )


def test_one_source_of_posts(capsys, workdir: Path) -> None:
    (workdir / "posts.csv").write_text(sheet([["2099-06-01 09:00", "a", "x", "", "", ""]]))
    both = run_cli(capsys, "campaign", "new", "c", "--from-csv", "posts.csv", "--from-messages", "posts.csv")
    assert both.code == 1 and "one of --from-messages FILE or --from-csv FILE" in both.err
    spaced = run_cli(capsys, "campaign", "new", "c", "--from-csv", "posts.csv", "--every", "1d")
    assert spaced.code == 1 and "a CSV gives each post's time" in spaced.err


def _readme_csv() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("```csv\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("source", ["examples/spring-posts.csv", "README.md"])
def test_the_documented_examples_import(workdir: Path, source: str) -> None:
    from postdeck.csv_import import import_csv

    shutil.copytree(REPO / "campaigns" / "media", workdir / "campaigns" / "media")
    path = workdir / "posts.csv"
    if source == "README.md":
        path.write_text(_readme_csv(), encoding="utf-8")
    else:
        shutil.copy(REPO / source, path)
    imported = import_csv(
        "spring-posts",
        path,
        workdir / "campaigns" / "spring-posts.yaml",
        now=datetime(2026, 12, 1, tzinfo=UTC),  # the examples' dates are in 2030
        timezone="Europe/Berlin",
        platforms=[Platform.TWITTER],
    )
    assert imported.warnings == []
    loaded = load_campaign(imported.path)
    assert len(loaded.campaign.batches) == imported.rows >= 2
    assert loaded.campaign.batches[0].twitter is not None  # the x.caption column


def test_ids_from_the_sheet_and_their_duplicates(capsys, workdir: Path) -> None:
    header = ["id", "at", "caption", "platforms"]
    rows = [["launch", "2099-06-01 09:00", "one", "x"], ["launch", "2099-06-02 09:00", "two", "x"]]
    (workdir / "posts.csv").write_text(sheet(rows, header))
    result = new(capsys, "posts.csv")
    assert result.code == 1 and "posts.csv:3:id: " in result.err and "posts.csv:2" not in result.err
    rows[1][0] = "follow-up"
    (workdir / "posts.csv").write_text(sheet(rows, header))
    assert new(capsys, "posts.csv").code == 0
    batches = load_campaign(workdir / "campaigns" / "imported.yaml").campaign.batches
    assert [b.id for b in batches] == ["launch", "follow-up"]


def test_a_cell_too_big_for_the_csv_reader_is_located(capsys, workdir: Path) -> None:
    big = "x" * 200_000  # beyond the csv module's field limit (131,072)
    (workdir / "posts.csv").write_text(f"at,caption\n2099-06-01 09:00,ok\n2099-06-02 09:00,{big}\n")
    result = new(capsys, "posts.csv")
    assert (
        result.code == 1 and "posts.csv:3: not readable as CSV: field larger than field limit" in result.err
    )
