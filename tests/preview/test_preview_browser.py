"""The preview site in a real browser: Debian's headless Chromium (`make test` installs it), driven by
Playwright with that executable. Checked against the campaign of tests/preview_campaign.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from postdeck.ledger.sqlite import SqliteLedger
from postdeck.preview.generate import generate
from postdeck.preview.serve import PreviewServer
from postdeck.schemas.counting import measure
from tests.preview_campaign import (
    BATCHES,
    HOSTILE_CAPTION,
    HOSTILE_FILE,
    NEW_CAPTION,
    OLD_CAPTION,
    Site,
    review_site,
)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real Chromium (`make test` installs it): left out of `make test-fast`

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".postdeck" / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("no chromium: `make test` installs it (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with everything it asked for, logged to its console, or raised recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def errors(self) -> list[str]:
        return [line for line in self.console if line.startswith(("error", "pageerror"))]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return review_site(tmp_path)


@pytest.fixture
def open_page(browser: Any, site: Site) -> Iterator[Any]:
    pages: list[Any] = []

    def opener(fragment: str = "", **context: Any) -> Watched:
        page = browser.new_page(viewport={"width": 1300, "height": 900}, **context)
        pages.append(page)
        watched = Watched(page)
        page.goto(site.url + fragment)
        page.wait_for_selector("#calendar table, #calendar ol")
        return watched

    yield opener
    for page in pages:
        page.close()


def expected_cards() -> list[tuple[str, str, str, str]]:
    """(batch, platform, day, time) in New York, read from the campaign as written."""
    return [
        (batch, platform, at[:10], at[11:16])
        for batch, (at, platforms) in BATCHES.items()
        for platform in platforms
    ]


def test_each_delivery_is_on_its_day_in_the_campaign_timezone(open_page: Any) -> None:
    late = datetime.fromisoformat(BATCHES["late-night"][0]).replace(tzinfo=ZoneInfo("America/New_York"))
    assert late.astimezone(ZoneInfo("UTC")).day != late.day  # its UTC day is another: the test can tell
    for batch, platform, day, time in expected_cards():
        page = open_page(f"#view=month&date={day}").page
        card = page.locator(f'td[data-day="{day}"] .card[data-platform="{platform}"]', has_text=time)
        assert card.count() == 1, (batch, platform, day)
        assert card.get_attribute("title").endswith(f"· {batch}")
        week = open_page(f"#view=week&date={day}").page
        assert week.locator(f'li.day[data-day="{day}"] .card[data-platform="{platform}"]').count() >= 1
        page.close()
        week.close()


def test_detail_shows_caption_count_status_and_findings(open_page: Any) -> None:
    page = open_page("#view=month&date=2030-03-01").page
    page.locator('td[data-day="2030-03-07"] .card[data-platform="twitter"]').click()
    dialog = page.locator("dialog#detail")
    assert dialog.is_visible()
    assert dialog.locator(".caption").first.inner_text() == "About lost"
    assert (
        dialog.locator(".count").inner_text()
        == f"{measure('About lost', 'x_weighted')} / 280 weighted characters on X"
    )
    assert "unknown" in dialog.inner_text() and "lookup could not tell" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    page.locator('td[data-day="2030-03-06"] .card[data-platform="threads"]').click()
    link = dialog.locator("a", has_text="view the post")
    assert link.get_attribute("href") == "https://www.threads.example/p/1"
    page.keyboard.press("Escape")
    page.locator('td[data-day="2030-03-06"] .card[data-platform="bluesky"]').click()
    assert "failed" in dialog.inner_text() and "the image is too large" in dialog.inner_text()


def test_changed_caption_shows_old_and_new_with_the_difference(open_page: Any) -> None:
    page = open_page("#view=week&date=2030-03-05").page
    card = page.locator('.card[data-platform="linkedin"]')
    assert card.get_attribute("data-action") == "update"
    card.click()
    sides = page.locator("dialog .diff figure")
    assert sides.nth(0).locator(".caption").inner_text() == OLD_CAPTION
    assert sides.nth(1).locator(".caption").inner_text() == NEW_CAPTION
    assert [t.strip() for t in sides.nth(0).locator("del").all_inner_texts()] == ["old", "last week"]
    assert [t.strip() for t in sides.nth(1).locator("ins").all_inner_texts()] == ["new", "this morning"]


def test_filters_hide_and_show_the_right_cards(open_page: Any) -> None:
    page = open_page("#view=month&date=2030-03-01").page
    march = [c for c in expected_cards() if c[2].startswith("2030-03")]
    assert page.locator(".card").count() == len(march)
    page.get_by_role("group", name="Platform").get_by_label("X").uncheck()
    assert page.locator('.card[data-platform="twitter"]').count() == 0
    assert page.locator(".card").count() == len([c for c in march if c[1] != "twitter"])
    page.get_by_role("group", name="Ledger status").get_by_label("failed").uncheck()
    assert page.locator('.card[data-status="failed"]').count() == 0
    page.get_by_role("group", name="Platform").get_by_label("X").check()
    page.get_by_role("group", name="Ledger status").get_by_label("failed").check()
    assert page.locator(".card").count() == len(march)
    page.get_by_role("group", name="Plan action").get_by_label("create").uncheck()
    assert sorted(page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.action)")) == [
        "unchanged",
        "unchanged",
        "unchanged",
        "update",
    ]


def test_keyboard_opens_and_closes_a_card_and_moves_between_periods(open_page: Any) -> None:
    page = open_page("#view=month&date=2030-03-01").page
    page.locator(".card").first.focus()
    page.keyboard.press("ArrowRight")
    second = page.locator(".card").nth(1)
    assert second.evaluate("c => c === document.activeElement")
    page.keyboard.press("Enter")
    assert page.locator("dialog#detail").is_visible()
    page.keyboard.press("Escape")
    assert second.evaluate("c => c === document.activeElement")  # focus back where it was
    page.keyboard.press("PageDown")
    assert page.locator("#period").inner_text() == "April 2030"
    assert page.locator('.card[data-platform="facebook"]').count() == 1
    assert page.evaluate("location.hash") == "#view=month&date=2030-04-01"  # a link to this view
    page.evaluate("location.hash = '#view=week&date=2030-03-20'")
    page.locator("ol.week").wait_for()
    assert page.locator('.card[data-platform="instagram"]').count() == 1


def test_no_request_leaves_file_and_no_console_error_in_light_and_dark(open_page: Any, site: Site) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        watched = open_page("#view=month&date=2030-03-01", color_scheme=scheme)
        page = watched.page
        page.locator('.card[data-platform="instagram"]').click()  # its thumbnail loads
        assert page.locator("dialog img").evaluate("img => img.complete && img.naturalWidth > 0")
        page.keyboard.press("Escape")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == {"light": "rgb(255, 255, 255)", "dark": "rgb(13, 17, 23)"}[scheme]
        page.screenshot(path=str(ARTIFACTS / f"preview-{scheme}.png"), full_page=True)
        assert watched.requests and all(url.startswith("file://") for url in watched.requests)
        assert watched.errors() == []
    assert (ARTIFACTS / "preview-dark.png").stat().st_size > 0


def test_hostile_caption_and_file_name_are_shown_as_text(open_page: Any) -> None:
    watched = open_page("#view=month&date=2030-03-01")
    page = watched.page
    card = page.locator('.card[data-platform="instagram"]')
    card.click()
    dialog = page.locator("dialog#detail")
    assert dialog.locator(".caption").first.inner_text() == HOSTILE_CAPTION
    assert HOSTILE_FILE in dialog.locator("figcaption").inner_text()
    assert dialog.locator("img").get_attribute("alt").startswith(f"image {HOSTILE_FILE}")
    assert "Post for Me would crop" in dialog.locator(".findings").inner_text()  # its finding, on its card
    page.keyboard.press("Escape")
    page.keyboard.press("PageDown")  # April: the post whose ledger URL is javascript:
    page.locator('.card[data-platform="facebook"]').click()
    assert page.locator('a[href^="javascript"]').count() == 0
    assert "javascript:alert(4)" in dialog.inner_text()
    assert watched.dialogs == []
    assert page.locator("img[src=x], img[src=y]").count() == 0
    assert page.locator("script").count() == 2  # the data and the page's own script
    assert watched.errors() == []


def test_a_large_calendar_draws_only_the_visible_days_and_expands_on_demand(
    browser: Any, tmp_path: Path
) -> None:
    lines = ["name: big", "timezone: UTC", "cadence: {start: '2030-05-01 00:00', every: 1h}",
             "defaults: {platforms: [twitter, bluesky]}", "batches:"]  # fmt: skip
    lines += [f"  - {{id: b{i:04d}, caption: 'Batch {i}'}}" for i in range(24 * 40)]  # 40 days, May-June
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    built = generate([path], tmp_path / "site", SqliteLedger())
    assert built.deliveries == 24 * 40 * 2
    watched = Watched(browser.new_page(viewport={"width": 1300, "height": 900}))
    page = watched.page
    page.goto(built.index.as_uri() + "#view=month&date=2030-05-01")
    page.wait_for_selector("#calendar table")
    assert page.locator("td.day:not(.other) .card").count() == 31 * 8  # May, 8 a day: not 1,920
    assert page.locator("td.other .card").count() == 2 * 8  # the grid's last row: June 1 and 2
    day = page.locator('td[data-day="2030-05-10"]')
    day.locator(".more").click()
    assert page.locator('td[data-day="2030-05-10"] .card').count() == 48
    page.click("#view-week")
    assert page.locator(".card").count() == 5 * 40  # Mon 29 April to Sun 5 May: 40 a day from the 1st
    page.click("#next")
    assert page.locator(".card").count() == 6 * 40 + 48  # 6 to 12 May: the expanded 10th shows all
    assert watched.errors() == []
    page.close()


def test_a_served_page_reloads_itself_when_the_campaign_changes(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    body = "name: live\nbatches:\n  - {{id: a, at: 2030-03-02 09:00, caption: '{}', platforms: [bluesky]}}\n"
    path.write_text(body.format("before the edit"))
    reader = SqliteLedger()
    generate([path], tmp_path / "site", reader)
    server = PreviewServer(lambda: [path], tmp_path / "site", reader, poll=0.1, say=lambda _: None).start()
    page = browser.new_page()
    try:
        page.goto(server.url + "#view=month&date=2030-03-01")
        assert "before the edit" in page.locator(".card .snippet").inner_text()
        path.write_text(body.format("after the edit"))
        page.locator(".card .snippet", has_text="after the edit").wait_for(timeout=30_000)  # no reload by us
        assert page.locator("#period").inner_text() == "March 2030"  # the reload kept the place
    finally:
        page.close()
        server.stop()


def test_semantic_structure_names_every_control_and_image(open_page: Any) -> None:
    page = open_page("#view=month&date=2030-03-01").page
    assert page.locator("header h1").count() == 1 and page.locator("main nav[aria-label]").count() == 1
    assert page.locator("table.month thead th[scope=col]").count() == 7
    names = page.locator("button").evaluate_all(
        "bs => bs.map(b => (b.getAttribute('aria-label') || b.textContent).trim())"
    )
    assert names and all(names)
    assert page.locator("#filters input").evaluate_all(
        "xs => xs.every(x => x.closest('label') && x.closest('fieldset').querySelector('legend'))"
    )
    page.locator('.card[data-platform="instagram"]').click()
    assert page.get_by_role("dialog", name="Instagram · hostile").is_visible()
    assert page.locator("img").evaluate_all("xs => xs.length > 0 && xs.every(x => x.alt.trim())")


def test_a_drift_card_is_in_the_legend_and_the_filters_like_every_action(
    browser: Any, tmp_path: Path
) -> None:
    from tests.preview_campaign import drift_site

    site = drift_site(tmp_path)
    watched = Watched(browser.new_page(viewport={"width": 1300, "height": 900}))
    page = watched.page
    page.goto(site.url + "#view=month&date=2030-03-01")
    card = page.locator('td[data-day="2030-03-05"] .card')
    assert card.get_attribute("data-action") == "drift" and card.locator(".badge.a-drift").count() == 1
    badge = card.locator(".badge.a-drift")
    plain = page.locator('td[data-day="2030-03-04"] .card .badge.a-create')
    assert badge.evaluate("b => getComputedStyle(b).borderTopColor") != page.locator(
        "#filters fieldset"
    ).first.evaluate("f => getComputedStyle(f).borderTopColor")  # drawn in a colour of its own
    assert plain.count() == 1
    actions = page.get_by_role("group", name="Plan action")
    actions.get_by_label("drift").uncheck()
    assert page.locator('.card[data-action="drift"]').count() == 0 and page.locator(".card").count() == 1
    actions.get_by_label("drift").check()
    assert page.locator('.card[data-action="drift"]').count() == 1
    legend = page.locator("#legend")
    legend.locator("summary").click()
    shown = legend.locator("dt", has=page.locator(".badge.a-drift"))
    assert shown.count() == 1
    meaning = shown.evaluate("dt => dt.nextElementSibling.textContent")
    assert "cancelled outside" in meaning and "plan --refresh" in meaning
    # every action and status of the plan and ledger, whether or not a card has it
    assert legend.locator("dt .badge").evaluate_all("bs => bs.map(b => b.textContent)") == [
        "create", "update", "cancel", "unchanged", "conflict", "in-flight", "drift",
        "claimed", "posted", "scheduled", "failed", "unknown", "cancelled", "not-sent", "not in the ledger",
    ]  # fmt: skip
    card.click()
    assert "cancelled outside the file" in page.locator("dialog#detail").inner_text()
    assert watched.errors() == []
    page.close()


def test_a_video_shows_its_poster_or_a_placeholder_with_name_and_duration(
    browser: Any, tmp_path: Path
) -> None:
    from tests.mp4_boxes import mp4_with_frame
    from tests.preview.test_preview_video import RED, jpeg

    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "frame.mp4").write_bytes(mp4_with_frame(jpeg((320, 180), RED), seconds=5))
    (tmp_path / "media" / "teaser.mp4").write_bytes(mp4_with_frame(None, codec=b"avc1", seconds=83))
    path = tmp_path / "video.yaml"
    path.write_text(
        "name: video\ntimezone: UTC\nbatches:\n"
        "  - {id: clip, at: 2030-03-04 10:00, caption: A clip, platforms: [twitter], media: [media/frame.mp4]}\n"
        "  - {id: h264, at: 2030-03-05 10:00, caption: A teaser, platforms: [twitter], media: [media/teaser.mp4]}\n"
    )
    built = generate([path], tmp_path / "site", SqliteLedger())
    watched = Watched(browser.new_page(viewport={"width": 1300, "height": 900}))
    page = watched.page
    page.goto(built.index.as_uri() + "#view=month&date=2030-03-01")
    page.locator('td[data-day="2030-03-04"] .card').click()
    poster = page.locator("dialog figure.thumb img")
    assert poster.evaluate("img => img.complete && img.naturalWidth > 0")
    assert poster.get_attribute("alt") == "video frame.mp4 (poster: its first frame, 16:9, 0:05)"
    assert page.locator("dialog figure.thumb figcaption").inner_text() == "frame.mp4 · 16:9 · 0:05"
    page.keyboard.press("Escape")
    page.locator('td[data-day="2030-03-05"] .card').click()
    placeholder = page.locator("dialog figure.thumb .placeholder")
    text = placeholder.inner_text()
    assert "video" in text and "1:23" in text and "H.264" in text
    assert placeholder.get_attribute("aria-label").startswith("video teaser.mp4 (1:23; ")
    assert page.locator("dialog figure.thumb figcaption").inner_text() == "teaser.mp4 · 1:23"
    assert watched.errors() == []
    page.close()


def test_the_site_of_a_publish_run_says_which_run_and_what_it_did(browser: Any, tmp_path: Path) -> None:
    """The page the publish flow writes beside a run (model.build_run): the run in the header, each
    card's status as the run left it and what the run did with it."""
    from datetime import UTC

    from postdeck.engine.plan import make_plan
    from postdeck.preview.model import build_run
    from postdeck.preview.site import write_site
    from postdeck.schemas.validation import check_file

    path = tmp_path / "run.yaml"
    path.write_text(
        "name: run\ntimezone: UTC\nbatches:\n"
        "  - {id: ok, at: 2030-03-04 10:00, caption: Went out, platforms: [bluesky, twitter]}\n"
    )
    deliveries = [item.delivery for item in check_file(path).prepared]
    now = datetime(2030, 3, 1, tzinfo=UTC)
    plan = make_plan("run", deliveries, SqliteLedger(), now)
    reports = [
        {"key": d.key, "action": "sent", "status": "scheduled", "url": None, "error": None}
        if d.platform.value == "bluesky"
        else {"key": d.key, "action": "sent", "status": "failed", "url": None, "error": "rejected: spam"}
        for d in deliveries
    ]
    title = "publish-campaign run 1234 of run.yaml (commit abcd1234)"
    data = build_run(
        "run", "UTC", str(path), plan, reports, now, tmp_path / "site", title=title, dry_run=False
    )
    index = write_site(data.document, tmp_path / "site")
    watched = Watched(browser.new_page(viewport={"width": 1300, "height": 900}))
    page = watched.page
    page.goto(index.as_uri() + "#view=month&date=2030-03-01")
    assert page.locator("header p.run").inner_text().startswith(title)
    assert page.locator('.card[data-platform="bluesky"]').get_attribute("data-status") == "scheduled"
    page.locator('.card[data-platform="twitter"]').click()
    rows = page.locator("dialog .facts dt").evaluate_all(
        "dts => Object.fromEntries(dts.map(dt => [dt.textContent, dt.nextElementSibling.textContent]))"
    )
    assert rows["After the run"] == "failed — rejected: spam"  # the status the run came to
    assert rows["This run"] == "failed — rejected: spam"  # what it did (sent, and it failed)
    assert watched.errors() == []
    page.close()
