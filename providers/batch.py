"""One batch as the failover chain carries it: its deliveries (SendItem), what one send() has
learned so far across the links (Sending), and what one provider's turn came to (Step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.providers.links import AttemptHook, PostKeyFn
from postdeck.schemas.delivery import ThreadPart
from postdeck.schemas.media import MediaRef


@dataclass(frozen=True)
class SendItem:
    """One delivery as the chain sees it."""

    key: str
    platform: Platform
    caption: str
    options: dict = field(default_factory=dict)
    thread: tuple[ThreadPart, ...] = ()
    # The providers that can carry it as written (schemas.routing), and why only those; None: any.
    providers: tuple[str, ...] | None = None
    route: str = ""

    def goes_to(self, provider: str) -> bool:
        return self.providers is None or provider in self.providers


@dataclass
class Step:
    """What one provider's turn with some of a batch came to."""

    settled: dict[str, Outcome] = field(default_factory=dict)
    passed: list[tuple[SendItem, str]] = field(default_factory=list)  # to the next provider, with why
    again: list[SendItem] = field(default_factory=list)  # to this provider once more
    passing: bool = False  # passed on untried, for a reason that passes (the media could not be uploaded)


@dataclass
class Sending:
    """One send() call's request and what it has learned so far, shared by its passes over the links."""

    post_key_for: PostKeyFn
    media: Sequence[MediaRef]
    scheduled_at: datetime | None
    on_attempt: AttemptHook
    reasons: dict[str, list[str]]  # key → why each provider did not settle it
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    tried: set[str] = field(default_factory=set)  # keys a create was attempted for, anywhere
    passing: set[str] = field(default_factory=set)  # keys passed over somewhere for a reason that passes
    placed: set[str] = field(default_factory=set)  # keys some provider had (or had had) an account for

    def attempting(self, keys: list[str], label: str, post_key: str) -> None:
        self.on_attempt(keys, label, post_key)
        self.tried.update(keys)


def offered_to(
    provider: str, label: str, items: list[SendItem], reasons: dict[str, list[str]]
) -> list[SendItem]:
    """Routing by capability: the items this provider can publish as written. The others (a thread, a
    first comment it cannot post) are not offered to it, and say so; the next provider that can gets them."""
    offered = []
    for item in items:
        if item.goes_to(provider):
            offered.append(item)
        else:
            reasons[item.key].append(f"{label}: skipped, {item.route}")
    return offered
