"""Acting on users' cancel requests (Supabase: a signed-in user may only *ask*, through
request_delivery_cancel; the workers cancel, with the service role, in the sync flow).

A requested delivery still scheduled is cancelled at its provider and recorded (postdeck.service.
cancelling), then pinned cancelled, as `postdeck cancel --keep-cancelled` does: the user asked for
it gone, so publishing the campaign does not create it again from the file. A provider post carries
every platform of its batch: a request for only some of them is closed with that said, so the user
can ask for them together. A request that cannot be acted on now (its delivery in flight, the
provider unreachable) stays open for the next sync.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.records import CancelRequest, DeliveryRecord
from postdeck.providers.chain import Chain
from postdeck.service.cancelling import cancel, pin
from postdeck.service.schedules import siblings


@dataclass(frozen=True)
class RequestReport:
    request_id: str
    key: str
    result: str  # what the request was closed with, or why it stays open
    closed: bool


def handle_cancel_requests(
    requests: Sequence[CancelRequest],
    *,
    ledger,
    chain: Chain,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[RequestReport]:
    """Act on these requests (one owner's, through that owner's chain). Never raises for a provider."""
    reports: list[RequestReport] = []
    scheduled: dict[str, tuple[CancelRequest, DeliveryRecord]] = {}
    for request in requests:
        record = ledger.get(request.delivery_key)
        if record is None:
            reports.append(_close(ledger, request, "not cancelled: no such delivery", now))
        elif record.status == DeliveryStatus.CLAIMED:
            reports.append(RequestReport(request.id, request.delivery_key, "in flight: asked again", False))
        elif record.status != DeliveryStatus.SCHEDULED:
            reports.append(_close(ledger, request, f"not cancelled: it is {record.status}", now))
        else:
            scheduled[record.key] = (request, record)
    for request, record in list(scheduled.values()):
        others = _unrequested_siblings(ledger, record, scheduled)
        if others:
            why = f"not cancelled: its post also carries {', '.join(others)}; ask to cancel those too"
            reports.append(_close(ledger, request, why, now))
            del scheduled[record.key]
    if scheduled:
        records = [record for _, record in scheduled.values()]
        done = pin(cancel(records, ledger=ledger, chain=chain, with_siblings=False, now=now), ledger=ledger)
        for report in done:
            request = scheduled[report.key][0]
            if report.after == DeliveryStatus.CANCELLED:
                reports.append(_close(ledger, request, "cancelled", now))
            elif report.after != DeliveryStatus.SCHEDULED:  # published meanwhile
                reports.append(_close(ledger, request, f"not cancelled: it is {report.after}", now))
            else:  # the provider could not be asked: the next sync tries again
                reports.append(RequestReport(request.id, report.key, report.error or "not yet", False))
    return reports


def _unrequested_siblings(
    ledger, record: DeliveryRecord, requested: dict[str, tuple[CancelRequest, DeliveryRecord]]
) -> list[str]:
    if not record.provider or not record.provider_post_id:
        return []
    return [
        s.key
        for s in siblings(ledger, [record], record.provider, record.provider_post_id, "scheduled")
        if s.key not in requested
    ]


def _close(ledger, request: CancelRequest, result: str, now: Callable[[], datetime]) -> RequestReport:
    ledger.close_cancel_request(request.id, result=result, now=now())
    return RequestReport(request.id, request.delivery_key, result, True)
