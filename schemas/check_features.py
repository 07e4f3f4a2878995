"""Threads, first comments and routing of one delivery: a provider of the chain can publish all it
asks for; each thread part and the first comment pass the platform's own text (and media) rules,
checked as captions are, against the providers the delivery is routed to."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterator

from postdeck.schemas.delivery import Delivery
from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_KEYS, PLATFORM_NAMES, Findings
from postdeck.schemas.routing import Route
from postdeck.schemas.rules import PROVIDER_NAMES, Rules
from postdeck.schemas.settings import Resolved
from postdeck.schemas.source import PathKey

_PREPARED = tuple(f.name for f in dataclasses.fields(Prepared))


_DELIVERY = tuple(f.name for f in dataclasses.fields(Delivery))
_DELIVERY_VALUES = operator.attrgetter(*_DELIVERY)


def _changed(delivery: Delivery, **changes: object) -> Delivery:
    """dataclasses.replace(delivery, **changes) without its walk over the fields and a new __init__
    (a frozen dataclass's copy: its fields only, never a value cached from the others), as
    validation makes one for every thread part and first comment."""
    copy = object.__new__(Delivery)
    copy.__dict__.update(zip(_DELIVERY, _DELIVERY_VALUES(delivery), strict=True))
    copy.__dict__.update(changes)
    return copy


class _Part(Prepared):
    """A thread part or a first comment as a delivery of its own, for the caption and media checks:
    its text is the caption, its media the delivery's, and its findings land at its own place."""

    __slots__ = ("_base", "comment", "has_media")

    def __init__(
        self, item: Prepared, base: PathKey, text_at: PathKey, *, comment: bool = False, **delivery: object
    ) -> None:
        for name in _PREPARED:
            setattr(self, name, getattr(item, name))
        # Only the text and media are checked: options (a title, a placement) belong to the first post.
        self.delivery = _changed(item.delivery, options={}, thread=(), **delivery)
        resolved = item.resolved
        self.resolved = Resolved(
            caption=resolved.caption,
            caption_at=text_at,
            template=resolved.template,
            template_at=resolved.template_at,
            truncate=resolved.truncate,
            handle=resolved.handle,
            premium=resolved.premium,
            style=resolved.style,
        )  # without the options, like the delivery
        self._base = base
        self.comment = comment  # a first comment: held to the platform's comment limits
        self.has_media = bool(delivery.get("media"))  # a comment has none of its own, and needs none

    @property
    def batch_key(self) -> PathKey:
        return self._base

    @property
    def platform_key(self) -> PathKey:
        return self._base


def check_route(item: Prepared, route: Route, rules: Rules, out: Findings) -> None:
    """An error for each need no provider of the chain meets, or for needs no one provider meets together."""
    delivery = item.delivery
    prefix = f"{PLATFORM_KEYS[delivery.platform]}: "
    chain = set(route.chain)
    names = ", ".join(PROVIDER_NAMES.get(p, p) for p in route.chain)
    unmet = [need for need in route.needs if not need.providers & chain]
    for need in unmet:
        if need.field not in ("thread", "first_comment"):
            continue  # an option value no provider keeps: check_options says so, with the option's note
        at = (*item.batch_key, "thread") if need.field == "thread" else item.resolved.option_at[need.field]
        able = sorted(
            PLATFORM_NAMES[p] for p, platform in rules.platforms.items() if need.field in platform.features
        )
        message = f"no provider in the chain ({names}) can publish {need.what}"
        fix = f"drop {PLATFORM_KEYS[delivery.platform]} from the batch's platforms (only {', '.join(able)} can have one), or remove it"
        out.add("error", item.error(at, prefix + message, fix))
    if not unmet and route.needs and not route.providers:
        wanted = " and ".join(need.what for need in route.needs)
        message = f"no single provider in the chain ({names}) can publish {wanted} together"
        out.add(
            "error", item.error(item.platform_key, prefix + message, "split the batch, or drop one of them")
        )


def extra_texts(item: Prepared) -> Iterator[_Part]:
    """The thread parts and the first comment of a delivery, each as an item the caption checks take."""
    delivery = item.delivery
    for j, part in enumerate(delivery.thread):
        base = (*item.batch_key, "thread", j)
        yield _Part(item, base, (*base, "caption"), caption=part.caption, media=part.media)
    comment = delivery.options.get("first_comment")
    at = item.resolved.option_at.get("first_comment")
    if isinstance(comment, str) and at is not None:
        yield _Part(item, at, at, comment=True, caption=comment)
