"""What a publish run came to, in words that say what happened: one rule for the exit code, the
Prefect state of a batch task and of the flow run, and the closing summary line.

A delivery is resolved when it is live (posted), accepted at a provider for its time (scheduled),
cancelled as planned, or unchanged in one of those states. Anything else needs a person or a later
run: failed, unknown, not sent, held by another run, or refused as a conflict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RESOLVED_STATUSES = frozenset({"posted", "scheduled", "cancelled"})
# Actions that leave a delivery where it was, whatever its status: someone or something must act.
UNRESOLVED_ACTIONS = frozenset({"not-sent", "held", "in-flight", "conflict"})
# What a dry run reports for the changes it would make: nothing was attempted, nothing went wrong.
PLANNED_ACTIONS = frozenset({"create", "update", "cancel", "drift"})


def outcome_word(report: Mapping[str, str | None], *, dry_run: bool = False) -> str:
    """One word (or two) for what became of a delivery: `posted`, `3 failed`, never `sent` for a failure."""
    action, status = report.get("action") or "", report.get("status") or ""
    if dry_run and action in PLANNED_ACTIONS:
        return f"would {action}"
    if action in UNRESOLVED_ACTIONS:
        return action
    if action == "unchanged":
        return "unchanged" if status in RESOLVED_STATUSES else f"still {status or 'claimed'}"
    return status or action


def is_unresolved(report: Mapping[str, str | None], *, dry_run: bool = False) -> bool:
    action, status = report.get("action") or "", report.get("status") or ""
    if action in UNRESOLVED_ACTIONS:
        return True
    if dry_run and action in PLANNED_ACTIONS:
        return False
    return status not in RESOLVED_STATUSES


@dataclass(frozen=True)
class Verdict:
    total: int
    counts: dict[str, int]  # outcome word -> deliveries
    unresolved: int

    @property
    def ok(self) -> bool:
        return self.unresolved == 0

    def summary(self) -> str:
        """`18 deliveries: 2 failed, 1 unknown, 15 posted`: what needs a look first."""
        if not self.total:
            return "0 deliveries: nothing to publish"
        words = sorted(self.counts.items(), key=lambda item: (not _is_problem_word(item[0]), item[0]))
        noun = "delivery" if self.total == 1 else "deliveries"
        return f"{self.total} {noun}: " + ", ".join(f"{n} {word}" for word, n in words)


def _is_problem_word(word: str) -> bool:
    return word in UNRESOLVED_ACTIONS or word.startswith("still ") or word in ("failed", "unknown", "claimed")


def verdict(reports: Iterable[Mapping[str, str | None]], *, dry_run: bool = False) -> Verdict:
    reports = list(reports)
    counts = Counter(outcome_word(r, dry_run=dry_run) for r in reports)
    unresolved = sum(is_unresolved(r, dry_run=dry_run) for r in reports)
    return Verdict(total=len(reports), counts=dict(counts), unresolved=unresolved)
