"""Routing by capability: which providers of the chain can carry a delivery as written.

Most deliveries go to any provider. One that needs something only some providers publish (a thread,
a first comment: a platform's `features` in platform_rules.yaml; an option value a provider would
alter: its `provider_values`) goes only to those, so failover skips the others instead of posting
less than the plan showed. Pure: the chain, validate and plan all ask the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from postdeck.schemas.delivery import Delivery
from postdeck.schemas.findings import PLATFORM_NAMES
from postdeck.schemas.rules import PROVIDER_NAMES, Rules, platform_rules


@dataclass(frozen=True)
class Need:
    """Something a delivery asks of its provider, and the providers that can do it."""

    what: str  # in words: "a thread", "a first comment", "privacy 'MUTUAL_FOLLOW_FRIENDS'"
    field: str  # the feature or option it comes from: thread, first_comment, privacy, ...
    providers: frozenset[str]


@dataclass(frozen=True)
class Route:
    """The providers of the chain a delivery may go to, in chain order, and why only those."""

    providers: tuple[str, ...]
    needs: tuple[Need, ...] = ()
    chain: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.needs) and self.providers != self.chain

    def allows(self, provider: str) -> bool:
        return provider in self.providers

    @property
    def reason(self) -> str:
        """'' for a delivery any provider can carry; else which provider and why, in words."""
        if not self.restricted:
            return ""
        wanted = " and ".join(n.what for n in self.needs)
        if not self.providers:
            return f"no provider in the chain can publish {wanted}"
        names = ", ".join(PROVIDER_NAMES.get(p, p) for p in self.providers)
        return f"via {names} only: {wanted}"


def needs_of(delivery: Delivery, rules: Rules | None = None) -> tuple[Need, ...]:
    """What this delivery asks that not every provider of the chain can do."""
    rules = rules or platform_rules()
    platform = rules.of(delivery.platform)
    everyone = frozenset(rules.chain)
    on = f" on {PLATFORM_NAMES[delivery.platform]}"
    found: list[Need] = []
    if delivery.thread:
        feature = platform.features.get("thread")
        can = frozenset(feature.providers) if feature else frozenset()
        found.append(Need(f"a thread{on}", "thread", can))
    if delivery.options.get("first_comment"):
        feature = platform.features.get("first_comment")
        can = frozenset(feature.providers) if feature else frozenset()
        found.append(Need(f"a first comment{on}", "first_comment", can))
    for name, rule in platform.options.items():
        value = delivery.options.get(name)
        if value is None or not rule.provider_values:
            continue
        can = frozenset(
            p for p in everyone if p not in rule.provider_values or value in rule.provider_values[p]
        )
        if can != everyone:
            found.append(Need(f"{name} '{value}'{on}", name, can))
    return tuple(found)


def route(delivery: Delivery, chain: Sequence[str] | None = None, rules: Rules | None = None) -> Route:
    """The providers of `chain` (the rules' chain unless given) that can carry every need."""
    rules = rules or platform_rules()
    order = tuple(chain if chain is not None else rules.chain)
    needs = needs_of(delivery, rules)
    return Route(tuple(p for p in order if all(p in n.providers for n in needs)), needs, order)
