"""A campaign for the preview's tests, with a ledger that knows some of it: late-night times in New
York (their UTC day is the next one), a caption changed since it was scheduled, posted / failed /
unknown outcomes, and a batch whose caption and media file name are hostile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.ledger.records import ClaimRequest
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.preview.generate import Built, generate
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign

HOSTILE_CAPTION = (
    "<img src=x onerror=alert(1)><script>alert(2)</script> \"double\" 'single' &amp; "
    "\u202eevil\u202c </script><!-- end"
)
HOSTILE_FILE = '"><img src=y onerror=alert(3)>.jpg'
OLD_CAPTION = "The old roast caption, written last week"
NEW_CAPTION = "The new roast caption, written this morning"

# batch id → (its `at` in New York, platforms)
BATCHES = {
    "late-night": ("2030-03-02 21:30", ["twitter", "bluesky"]),
    "changed": ("2030-03-05 09:00", ["linkedin"]),
    "done": ("2030-03-06 12:00", ["threads"]),
    "broke": ("2030-03-06 13:00", ["bluesky"]),
    "lost": ("2030-03-07 08:00", ["twitter"]),
    "hostile": ("2030-03-20 10:00", ["instagram"]),
    "april": ("2030-04-02 10:00", ["facebook"]),
}
OUTCOMES = {
    "done": Outcome(DeliveryStatus.POSTED, provider="late", url="https://www.threads.example/p/1"),
    "broke": Outcome(DeliveryStatus.FAILED, provider="late", error="rejected: the image is too large"),
    "lost": Outcome(DeliveryStatus.UNKNOWN, provider="postforme", error="timed out; lookup could not tell"),
    "changed": Outcome(DeliveryStatus.SCHEDULED, provider="late", provider_post_id="p-1"),
    "april": Outcome(DeliveryStatus.POSTED, provider="late", url="javascript:alert(4)"),
}


@dataclass(frozen=True)
class Site:
    campaign: Path
    built: Built
    url: str


def write_campaign(folder: Path, changed_caption: str) -> Path:
    (folder / "media").mkdir(exist_ok=True)
    Image.new("RGB", (1200, 600), (200, 120, 40)).save(folder / "media" / HOSTILE_FILE, "JPEG")
    lines = ["name: review", "timezone: America/New_York", "batches:"]
    for batch, (at, platforms) in BATCHES.items():
        caption = {"changed": changed_caption, "hostile": HOSTILE_CAPTION}.get(batch, f"About {batch}")
        lines += [f"  - id: {batch}", f"    at: {at}", f"    caption: {_quoted(caption)}"]
        lines.append(f"    platforms: [{', '.join(platforms)}]")
        if batch == "hostile":
            lines.append(f"    media: [{_quoted('media/' + HOSTILE_FILE)}]")
    path = folder / "review.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_outcomes(path: Path, ledger: SqliteLedger) -> None:
    """Claim and record the batches of OUTCOMES as the campaign is now."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for d in expand(load_campaign(path)):
        if d.batch_id not in OUTCOMES:
            continue
        request = ClaimRequest(
            d.key, d.campaign, d.batch_id, d.platform.value, d.content_hash, d.schedule_hash, d.caption, d.at
        )
        ledger.claim(request, owner="test", lease_seconds=60, now=now)
        ledger.record(d.key, OUTCOMES[d.batch_id], owner="test", now=now)


def review_site(folder: Path) -> Site:
    """The campaign with OUTCOMES recorded under OLD_CAPTION, then edited to NEW_CAPTION, previewed."""
    path = write_campaign(folder, OLD_CAPTION)
    ledger = SqliteLedger()
    record_outcomes(path, ledger)
    write_campaign(folder, NEW_CAPTION)
    built = generate([path], folder / "site", ledger, datetime(2030, 2, 1, tzinfo=UTC))
    return Site(path, built, built.index.as_uri())


def drift_site(folder: Path) -> Site:
    """Two batches: `fresh` (a create) and `cancelled`, scheduled and then cancelled outside the file
    (`postdeck cancel`) while the file still has it: drift, which publishing creates again."""
    path = folder / "drift.yaml"
    path.write_text(
        "name: drifting\ntimezone: UTC\nbatches:\n"
        "  - {id: fresh, at: 2030-03-04 10:00, caption: New one, platforms: [bluesky]}\n"
        "  - {id: cancelled, at: 2030-03-05 10:00, caption: Cancelled elsewhere, platforms: [bluesky]}\n",
        encoding="utf-8",
    )
    ledger = SqliteLedger()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    [d] = [d for d in expand(load_campaign(path)) if d.batch_id == "cancelled"]
    request = ClaimRequest(
        d.key, d.campaign, d.batch_id, d.platform.value, d.content_hash, d.schedule_hash, d.caption, d.at
    )
    ledger.claim(request, owner="test", lease_seconds=60, now=now)
    ledger.record(
        d.key,
        Outcome(DeliveryStatus.SCHEDULED, provider="late", provider_post_id="p-9"),
        owner="test",
        now=now,
    )
    ledger.record(
        d.key, Outcome(DeliveryStatus.CANCELLED, error="cancelled by postdeck cancel"), owner=None, now=now
    )
    built = generate([path], folder / "site", ledger, datetime(2030, 2, 1, tzinfo=UTC))
    return Site(path, built, built.index.as_uri())
