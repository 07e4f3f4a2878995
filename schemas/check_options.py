"""Provider options of one delivery: required ones present, values every provider keeps as written."""

from __future__ import annotations

from urllib.parse import urlsplit

from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_KEYS, PLATFORM_NAMES, Findings
from postdeck.schemas.rules import PROVIDER_NAMES, PlatformRules


def check_options(item: Prepared, rules: PlatformRules, chain: list[str], out: Findings) -> None:
    delivery = item.delivery
    platform = PLATFORM_KEYS[delivery.platform]
    prefix = f"{platform}: "
    for name, rule in rules.options.items():
        value = delivery.options.get(name)
        at = item.resolved.option_at.get(name)
        if value is None or at is None:
            if rule.required:
                fix = (
                    f"set `{platform}: {{{name}: ...}}` on the batch, or {name} in its style, "
                    f"defaults.{platform} or accounts.{platform}"
                )
                message = f"{PLATFORM_NAMES[delivery.platform]} needs `{name}`"
                out.add("error", item.error(item.platform_key, prefix + message, fix))
            continue
        # A value some provider keeps routes the delivery to those (schemas.routing); only a value
        # no provider of the chain keeps cannot be published as written.
        refusing = [(p, rule.provider_values[p]) for p in chain if p in rule.provider_values]
        if chain and len(refusing) == len(chain) and all(value not in kept for _, kept in refusing):
            provider, kept = refusing[0]
            who = PROVIDER_NAMES.get(provider, provider)
            message = f"{name} '{value}' would not reach {PLATFORM_NAMES[delivery.platform]} as written"
            reason = f": {rule.note}" if rule.note else f" ({who} keeps only {', '.join(kept)})"
            out.add("error", item.error(at, prefix + message + reason, f"use one of {', '.join(kept)}"))
        if name == "link":
            _link(item, str(value), rule.max_length.limit if rule.max_length else None, out)


def _link(item: Prepared, link: str, max_length: int | None, out: Findings) -> None:
    at = item.resolved.option_at["link"]
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: "
    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.hostname:
        out.add("error", item.error(at, prefix + f"link must be an https URL: {link}", "use https://..."))
    if max_length is not None and len(link) > max_length:
        message = f"link is {len(link)} characters, over the limit of {max_length}"
        out.add("error", item.error(at, prefix + message, "use a shorter link"))
