"""A person's decision about a delivery no provider can account for: `postdeck resolve`.

The way out of `unknown` besides a lookup at the provider (postdeck.engine.follow_up). `--posted URL`
records it posted (a person saw it there); `--not-posted` records it `not-sent`, so the next publish
looks its post key up once more and sends it. Who decided, when, and why go with the outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import PostdeckError
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.records import DeliveryRecord

RESOLVABLE = (DeliveryStatus.UNKNOWN,)


def resolve(
    ledger: LedgerWriter,
    key: str,
    *,
    posted_url: str | None,
    reason: str,
    who: str,
    now: datetime | None = None,
) -> DeliveryRecord:
    """Record the decision; raises PostdeckError (nothing written) for a delivery that is not unknown."""
    now = now or datetime.now(UTC)
    reason = " ".join(reason.split())
    if not reason:
        raise PostdeckError("say why: --reason TEXT (it is kept in the ledger with who decided)")
    record = ledger.get(key)
    if record is None:
        raise PostdeckError(f"no delivery {key} in the ledger (the keys are in `postdeck history`)")
    if record.status not in RESOLVABLE:
        raise PostdeckError(
            f"{key} is {record.status}, not unknown: only a delivery no provider can account for is resolved"
        )
    note = f"resolved by {who} at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {reason}"
    if posted_url is not None:
        outcome = Outcome(DeliveryStatus.POSTED, url=_checked_url(posted_url), error=note)
    else:
        outcome = Outcome(
            DeliveryStatus.NOT_SENT,
            error=f"not sent ({note}); the next publish looks it up once more and sends it",
        )
    return ledger.record(key, outcome, owner=None, now=now)


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise PostdeckError(f"--posted wants the post's address (https://…), not {url!r}")
    return url.strip()
