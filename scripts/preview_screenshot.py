"""Make docs/preview.png and docs/preview-detail.png: the preview of campaigns/spring-launch.yaml
(March 2030, against an empty ledger) in Debian's headless Chromium, then one card's detail.

    .venv/bin/python scripts/preview_screenshot.py [--out docs/preview.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "preview.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="preview-shot-"))
    os.environ["POSTDECK_LEDGER"] = str(work / "ledger.db")  # an empty ledger: every delivery a create
    try:
        from playwright.sync_api import sync_playwright

        from postdeck.ledger.sqlite import SqliteLedger
        from postdeck.preview.generate import generate

        built = generate([REPO / "campaigns" / "spring-launch.yaml"], work / "site", SqliteLedger())
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(built.index.as_uri() + "#view=month&date=2030-03-01")
            page.wait_for_selector("#calendar table")
            page.screenshot(path=str(args.out))
            page.locator('td[data-day="2030-03-07"] .card[data-platform="instagram"]').click()
            page.evaluate("window.scrollTo(0, 0)")  # the modal stays; the calendar shows from the top
            detail = args.out.with_name(args.out.stem + "-detail.png")
            page.screenshot(path=str(detail))
            browser.close()
        print(f"wrote {args.out} and {detail}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
