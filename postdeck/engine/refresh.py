"""`plan --refresh`: ask the providers for every scheduled post before planning. A post deleted at
the provider (its dashboard, another tool), moved to another time there, or whose words were edited
there is drift: what exists is not what the ledger and the file say. The plan shows it; nothing here
writes or sends.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.holder import link_for
from postdeck.engine.plan import Action, Plan
from postdeck.ledger.records import DeliveryRecord
from postdeck.providers.base import PostOutcome
from postdeck.providers.chain import Chain
from postdeck.providers.errors import ProviderError

GONE = 404  # what both providers answer for a post that is not there (deleted)
_SAME_MINUTE = 60  # platforms schedule to the minute: less than this apart is the same time
_SHOWN = 60  # characters of a caption a drift note quotes


@dataclasses.dataclass(frozen=True)
class Observation:
    key: str
    drift: bool  # what exists differs from the ledger
    note: str


def observe(records: Iterable[DeliveryRecord], chain: Chain) -> dict[str, Observation]:
    """What each scheduled delivery's provider says of its post, read once per provider post."""
    posts: dict[tuple[str, str], list[DeliveryRecord]] = {}
    for record in records:
        if record.status == DeliveryStatus.SCHEDULED and record.provider and record.provider_post_id:
            posts.setdefault((record.provider, record.provider_post_id), []).append(record)
    seen: dict[str, Observation] = {}
    for (provider, post_id), group in posts.items():
        link = link_for(group[0], chain)
        if link is None:
            note = f"not read: its post is at {provider}, which is not configured now (--sandbox?)"
            seen.update((r.key, Observation(r.key, False, note)) for r in group)
            continue
        try:
            current = chain.get(link.label, post_id)
        except ProviderError as exc:
            if exc.status == GONE:
                note = f"deleted at {provider} (post {post_id}): the ledger still has it scheduled"
                seen.update((r.key, Observation(r.key, True, note)) for r in group)
            else:
                seen.update((r.key, Observation(r.key, False, f"not read: {exc}")) for r in group)
            continue
        seen.update((r.key, _compare(r, current, provider)) for r in group)
    return seen


def _compare(record: DeliveryRecord, current: PostOutcome, provider: str) -> Observation:
    result = current.result_for(Platform(record.platform))
    if result is None:
        return Observation(record.key, True, f"removed from its post at {provider}")
    if current.scheduled_at and record.scheduled_for:
        apart = abs((current.scheduled_at - record.scheduled_for).total_seconds())
        if apart >= _SAME_MINUTE:
            return Observation(record.key, True, f"moved at {provider} to {_minute(current.scheduled_at)}")
    if (
        result.caption is not None
        and record.caption is not None
        and not _same_words(result.caption, record.caption)
    ):
        held, recorded = _quote(result.caption), _quote(record.caption)
        note = f"caption edited at {provider}: it says {held}, not the recorded {recorded}"
        return Observation(record.key, True, note)
    return Observation(record.key, False, f"as recorded at {provider} ({result.status})")


def _same_words(held: str, recorded: str) -> bool:
    """The same caption, whatever a provider did to its whitespace or Unicode form."""
    return _words(held) == _words(recorded)


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…")


def _minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def with_drift(plan: Plan, seen: dict[str, Observation]) -> Plan:
    """The plan with each change whose post drifted shown as drift, the provider's word its reason."""
    changes = []
    for change in plan.changes:
        observed = seen.get(change.record.key) if change.record else None
        if observed is not None and observed.drift:
            change = dataclasses.replace(change, action=Action.DRIFT, reason=observed.note)
        changes.append(change)
    return dataclasses.replace(plan, changes=tuple(changes))
