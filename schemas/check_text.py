"""Text rules of one delivery: lengths in the platform's unit, entity caps, forbidden characters,
and anything a provider would rewrite (Post for Me's Instagram caption sanitiser)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from postdeck.schemas import counting
from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_KEYS, PLATFORM_NAMES, Findings, Severity
from postdeck.schemas.rules import PROVIDER_NAMES, Number, PlatformRules

_ENTITIES: dict[str, Callable[[str], list[str]]] = {
    "hashtags": counting.hashtags,
    "mentions": counting.mentions,
    "cashtags": counting.cashtags,
    "links": lambda text: sorted(set(counting.urls(text))),  # Threads counts distinct links
}
# Post for Me's Instagram sanitiser, transcribed: which hashtags it sees (JS \w is ASCII).
_PFM_HASHTAG = re.compile(r"#[A-Za-z0-9_\u00C0-\u017F-]+")


def check_text(
    item: Prepared, rules: PlatformRules, chain: list[str], out: Findings, *, comment: bool = False
) -> None:
    """The caption's rules; with `comment`, the item's text is a first comment, held to the
    platform's comment limits (the caption's where none is documented)."""
    delivery = item.delivery
    text = delivery.caption
    caption_at = item.resolved.caption_at
    name = PLATFORM_NAMES[delivery.platform]
    prefix = f"{PLATFORM_KEYS[delivery.platform]}: "
    what = "first comment" if comment else "caption"
    if not text:
        out.add("error", item.error(caption_at, prefix + f"the {what} renders to nothing", "write some text"))
        return
    plan = _plan(rules, item.resolved.premium, tuple(chain), comment)
    problems: dict[Severity, list[str]] = {}
    for limit, unit, value in plan.limits:
        if unit == "x_weighted" and counting.x_weighted_at_most(text) <= value:
            continue  # even the upper bound fits: no need for the exact count
        if unit != "x_weighted" and counting.measure(text, unit) <= value:
            continue
        if problem := _over(text, limit, name, what):
            problems.setdefault(limit.severity, []).append(problem)
    for severity, found in problems.items():
        fix = "shorten it, or set `truncate: true`" if severity == "error" else ""
        out.add(severity, item.error(caption_at, prefix + "; ".join(found), fix))
    for entity, caps, fewest in plan.entities:
        if entity == "links" and text.count(".") <= fewest:
            continue  # every link has a dot: no need to ask X's (slow to load) URL finder
        found = _ENTITIES[entity](text)
        if len(found) <= fewest:
            continue
        for cap in caps:
            if len(found) > cap.limit:
                who = name if cap.by == "platform" else PROVIDER_NAMES.get(cap.by, cap.by)
                message = f"{len(found)} {entity}, {who} allows {cap.limit} [{cap.cited}]"
                out.add(cap.severity, item.error(caption_at, prefix + message, f"use at most {cap.limit}"))
    if rules.forbidden_chars and (bad := _found(text, rules.forbidden_chars.chars)):
        message = f"{name} does not allow {bad} in the text [{rules.forbidden_chars.source}]"
        out.add("error", item.error(caption_at, prefix + message, "remove them"))
    if plan.rewrites:
        _rewrites(item, rules, out)
    if rules.links_in_caption and ("://" in text or "www." in text):
        out.add("warning", item.error(caption_at, prefix + f"links in captions are not clickable on {name}"))
    placement = rules.placements.get(str(delivery.options.get("placement"))) if rules.placements else None
    if placement is not None and not placement.caption_shown:
        message = f"{name} {delivery.options['placement']} show no caption: this text will not be published"
        out.add("warning", item.error(caption_at, prefix + message))
    if rules.title:
        _title(item, rules, chain, out)


@dataclass(frozen=True)
class _Plan:
    """What check_text applies on one platform with one chain, worked out once (not per caption)."""

    limits: tuple[tuple[Number, str, int], ...]  # (limit, its unit, its value): read per caption
    entities: tuple[tuple[str, tuple[Number, ...], int], ...]  # (entity, caps that apply, lowest cap)
    rewrites: bool


_PLANS: dict[tuple[int, bool, tuple[str, ...], bool], _Plan] = {}


def _plan(rules: PlatformRules, premium: bool, chain: tuple[str, ...], comment: bool = False) -> _Plan:
    """The rules are loaded once per process, so id() is stable."""
    key = (id(rules), premium, chain, comment)
    plan = _PLANS.get(key)
    if plan is None:
        applies = ("platform", *chain)
        entities = []
        for entity, caps in rules.entities.items():
            kept = tuple(cap for cap in caps if cap.by in applies)
            if kept:
                entities.append((entity, kept, min(cap.limit for cap in kept)))
        texts = rules.comment_limits(premium=premium) if comment else rules.text_limits(premium=premium)
        plan = _PLANS[key] = _Plan(
            limits=tuple((n, n.unit, n.limit) for n in texts if n.by in applies),
            entities=tuple(entities),
            rewrites=rules.rewrites is not None and rules.rewrites.by in chain,
        )
    return plan


def _over(text: str, limit: Number, platform: str, what: str) -> str:
    """'' if `text` fits `limit`, else what is wrong, in words."""
    if limit.unit == "x_weighted" and counting.x_weighted_at_most(text) <= limit.limit:
        return ""  # even the upper bound fits: no need for the (slow) exact count
    length = counting.measure(text, limit.unit)
    if length <= limit.limit:
        return ""
    unit = counting.UNIT_NAMES[limit.unit]
    if limit.by == "platform":
        return f"{what} is {length} {unit}; {platform} allows {limit.limit} [{limit.cited}]"
    provider = PROVIDER_NAMES.get(limit.by, limit.by)
    return f"{provider} would cut the {what} at {limit.limit} {unit} (it has {length}) [{limit.cited}]"


def _found(text: str, chars: str) -> str:
    names = {"\n": "line breaks", "<": "'<'", ">": "'>'"}
    return " or ".join(names.get(c, repr(c)) for c in chars if c in text)


def _rewrites(item: Prepared, rules: PlatformRules, out: Findings) -> None:
    assert rules.rewrites is not None
    text = item.delivery.caption
    who = f"{PROVIDER_NAMES.get(rules.rewrites.by, rules.rewrites.by)} [{rules.rewrites.source}]"
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: "
    at = item.resolved.caption_at
    if "whitespace" in rules.rewrites.checks and pfm_whitespace(text) != text:
        message = f"{who} would rewrite the whitespace (runs of spaces or tabs, spaces at line ends, 3+ line breaks)"
        out.add("error", item.error(at, prefix + message, "use single spaces and at most one blank line"))
    if "duplicate_hashtags" in rules.rewrites.checks:
        seen: set[str] = set()
        for tag in _PFM_HASHTAG.findall(text):
            if tag.lower() in seen:
                message = f"{who} would remove the repeated hashtag {tag}"
                out.add("error", item.error(at, prefix + message, "use each hashtag once"))
                break
            seen.add(tag.lower())


def pfm_whitespace(text: str) -> str:
    """The whitespace normalisation of Post for Me's Instagram sanitiser."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n[ \t]+", "\n", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _title(item: Prepared, rules: PlatformRules, chain: list[str], out: Findings) -> None:
    title = item.delivery.options.get("title")
    at = item.resolved.option_at.get("title")
    if not isinstance(title, str) or at is None:
        return  # a missing title is check_options' to report
    name = PLATFORM_NAMES[item.delivery.platform]
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: "
    if not title:
        out.add("error", item.error(at, prefix + "the title renders to nothing", "write a title"))
        return
    problems = [
        p for n in rules.title if n.by in ("platform", *chain) if (p := _over(title, n, name, "title"))
    ]
    if problems:
        out.add("error", item.error(at, prefix + "; ".join(problems), "shorten the title"))
    forbidden = rules.title_forbidden_chars
    if forbidden and forbidden.by in ("platform", *chain) and (bad := _found(title, forbidden.chars)):
        who = name if forbidden.by == "platform" else PROVIDER_NAMES.get(forbidden.by, forbidden.by)
        message = f"{who} would remove {bad} from the title [{forbidden.source}]"
        out.add("error", item.error(at, prefix + message, "remove them"))
