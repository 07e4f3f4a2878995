"""How long `postdeck preview` takes for 10,000 deliveries: building the site (campaign, plan,
thumbnails, HTML), then the page in headless Chromium (Debian's): load to first calendar, a month
and a week change, a card's detail. Target: under 5 s to a drawn calendar. Prints, never asserts.

    .venv/bin/python bench/preview_bench.py [--batches 2500]   # × 4 platforms
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import PLATFORMS, header, write_campaign

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=2500)
    args = parser.parse_args()
    header("postdeck preview", deliveries=args.batches * len(PLATFORMS), cadence="30 min")
    work = Path(tempfile.mkdtemp(prefix="preview-bench-"))
    os.environ["POSTDECK_LEDGER"] = str(work / "ledger.db")
    try:
        path = write_campaign(work / "campaign", args.batches)
        started = time.perf_counter()
        from postdeck.ledger.sqlite import SqliteLedger
        from postdeck.preview.generate import generate

        built = generate([path], work / "site", SqliteLedger())
        build_s = time.perf_counter() - started
        size = built.index.stat().st_size / 1e6
        print(f"build:    {build_s:.2f} s for {built.deliveries} deliveries ({size:.1f} MB index.html)")
        browse(built.index)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def browse(index: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
        )
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        started = time.perf_counter()
        page.goto(index.as_uri())
        page.wait_for_selector("#calendar table")
        print(f"page:     {time.perf_counter() - started:.2f} s from navigation to a drawn month")
        timed(page, "next month", lambda: page.click("#next"))
        timed(page, "week view", lambda: page.click("#view-week"))
        timed(page, "next week", lambda: page.click("#next"))
        timed(page, "a detail", lambda: page.locator(".card").first.click())
        print(f"cards:    {page.locator('.card').count()} drawn (of the whole calendar)")
        browser.close()


def timed(page, what: str, action) -> None:
    started = time.perf_counter()
    action()
    page.evaluate("() => new Promise(requestAnimationFrame)")
    print(f"{what + ':':<9} {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
