"""Media rules of one delivery: required or not, kinds, formats, counts, sizes, image dimensions,
video durations, frame rates and sizes.

Each file is probed once (media_probe.py) however many platforms and campaigns use it.
"""

from __future__ import annotations

from typing import TypeGuard, TypeVar

from postdeck.schemas.delivery import Delivery
from postdeck.schemas.expansion import Prepared
from postdeck.schemas.findings import PLATFORM_KEYS, PLATFORM_NAMES, Findings, Severity
from postdeck.schemas.media_probe import MediaInfo, probe
from postdeck.schemas.rules import PROVIDER_NAMES, KindRules, Limit, Number, PlatformRules
from postdeck.schemas.source import PathKey

_ASPECT_TOLERANCE = 0.01  # ratios within 1% count as equal (pixel rounding)


def check_media(item: Prepared, rules: PlatformRules, chain: list[str], out: Findings) -> None:
    """The media findings of one delivery. The same media on the same platform (and placement) give the
    same findings in every batch: they are worked out once and placed at each batch's own location."""
    delivery = item.delivery
    if not delivery.media and not rules.media.required:
        return
    key = (delivery.media, delivery.platform, str(delivery.options.get("placement")), tuple(chain), id(rules))
    kept = _FOUND.get(key)
    if kept is None:
        recorder = _Recorder(delivery)
        _check_media(recorder, rules, chain, recorder)
        if len(_FOUND) >= _FOUND_MAX:  # a long-lived worker sees many campaigns
            _FOUND.clear()
        _FOUND[key] = (rules, recorder.found)  # holding `rules` keeps its id from being reused
        found = recorder.found
    else:
        found = kept[1]
    for severity, (base, rest), message, fix in found:
        anchor = item.batch_key if base == _BATCH else item.platform_key
        out.add(severity, item.error((*anchor, *rest), message, fix))


# A finding without its location: severity, (the batch's or the platform's anchor, the rest of the
# key below it), message, fix.
_Found = tuple[Severity, tuple[str | int, PathKey], str, str]

# Findings without their location, by (media, platform, placement, providers, rules): per process.
_FOUND: dict[tuple[object, ...], tuple[PlatformRules, list[_Found]]] = {}
_FOUND_MAX = 10_000
# The anchors of a recorded key: the first part of every key the checks build (from batch_key or
# platform_key), so never confused with a key's own parts.
_BATCH, _PLATFORM = "<batch>", "<platform's mention>"


class _Recorder:
    """Stands in for a Prepared item and for Findings: records what is found, relative to the batch or
    to the platform's mention, so that it can be placed in any batch."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.batch_key: PathKey = (_BATCH,)
        self.platform_key: PathKey = (_PLATFORM,)
        self.found: list[_Found] = []

    def error(self, key: PathKey, message: str, fix: str = "") -> tuple[tuple[str | int, PathKey], str, str]:
        return ((key[0], tuple(key[1:])), message, fix)

    def add(self, severity: Severity, finding: tuple[tuple[str | int, PathKey], str, str]) -> None:
        self.found.append((severity, *finding))


def _check_media(item: _Recorder, rules: PlatformRules, chain: list[str], out: _Recorder) -> None:
    delivery = item.delivery
    media = rules.media
    if not delivery.media and not media.required:
        return
    name = PLATFORM_NAMES[delivery.platform]
    prefix = f"{PLATFORM_KEYS[delivery.platform]}: "
    if not delivery.media:
        if media.required:
            message = f"{name} needs media ({', '.join(media.kinds)})"
            out.add(
                "error", item.error(item.platform_key, prefix + message, "add an image or a video to `media`")
            )
        return
    infos = [probe(ref) for ref in delivery.media]
    kinds = [_kind(info, media.kinds) for info in infos]
    for index, (info, kind) in enumerate(zip(infos, kinds, strict=True)):
        at = (*item.batch_key, "media", index)
        if kind == "unknown" and info.size is None:
            message = f"media[{index}] is a URL without a known file extension: not checked"
            out.add("warning", item.error(at, prefix + message, "end the URL with .jpg, .png, .mp4, ..."))
            continue
        if kind not in media.kinds:
            allowed = " or ".join(sorted(media.kinds))
            message = f"{name} takes {allowed}; media[{index}] is {_what(info)}"
            out.add(
                "error", item.error(at, prefix + message, "use another file for this platform, or drop it")
            )
            continue
        _item(item, at, index, info, kind, media.kinds[kind], name, chain, out)
        _measures(item, at, index, info, _limits(rules, media.kinds[kind], item), name, chain, out)
    if not media.mixing and len(set(kinds)) > 1:
        message = f"{name} does not mix {' and '.join(sorted(set(kinds)))} in one post"
        out.add(
            "error", item.error((*item.batch_key, "media"), prefix + message, "post them in separate batches")
        )
    _counts(item, kinds, rules, chain, out)
    if media.same_aspect_ratio and len(infos) > 1:
        _same_aspect(item, infos, rules, out)


def _kind(info: MediaInfo, allowed: dict[str, KindRules]) -> str:
    return "image" if info.kind == "gif" and "gif" not in allowed else info.kind


def _what(info: MediaInfo) -> str:
    article = "an" if info.kind[0] in "aeiou" else "a"
    return f"{article} {info.kind} ({info.content_type})"


_N = TypeVar("_N", bound=Number)


def _applies(number: _N | None, chain: list[str]) -> TypeGuard[_N]:
    """The number is there, and is the platform's or a provider's of the chain (then it applies)."""
    return number is not None and number.by in ("platform", *chain)


def _who(number: Number, platform: str) -> str:
    return platform if number.by == "platform" else PROVIDER_NAMES.get(number.by, number.by)


def _item(
    item: _Recorder,
    at: PathKey,
    index: int,
    info: MediaInfo,
    kind: str,
    rules: KindRules,
    name: str,
    chain: list[str],
    out: _Recorder,
) -> None:
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: media[{index}]: "
    if info.problem is not None:  # a bomb, a corrupt file, a video whose header can't be read
        out.add(info.problem.severity, item.error(at, prefix + info.problem.message, info.problem.fix))
    if info.content_type not in rules.formats and info.size is not None:
        message = f"{name} takes {', '.join(rules.formats)} for {kind}s, not {info.content_type}"
        out.add("error", item.error(at, prefix + message, "convert the file"))
    if _applies(rules.max_bytes, chain) and info.size is not None and info.size > rules.max_bytes.limit:
        cap = rules.max_bytes
        verb = "allows" if cap.by == "platform" else "would re-encode anything over"
        message = f"{info.size:,} bytes; {_who(cap, name)} {verb} {cap.limit:,} [{cap.cited}]"
        out.add(cap.severity, item.error(at, prefix + message, "make the file smaller"))
    if _applies(rules.max_pixels, chain) and info.pixels and info.pixels > rules.max_pixels.limit:
        cap = rules.max_pixels
        message = f"{info.width}×{info.height} is {info.pixels:,} pixels, over {cap.limit:,} [{cap.cited}]"
        out.add(cap.severity, item.error(at, prefix + message, "scale the image down"))
    _aspect(item, at, prefix, info, rules, name, chain, out)


def _aspect(
    item: _Recorder,
    at: PathKey,
    prefix: str,
    info: MediaInfo,
    rules: KindRules,
    name: str,
    chain: list[str],
    out: _Recorder,
) -> None:
    aspect = info.aspect
    if aspect is None:
        return
    shape = f"{info.width}×{info.height} (ratio {aspect:.2f})"
    low, high = rules.min_aspect, rules.max_aspect
    for bound, outside in (
        (low, low and aspect < low.value * (1 - _ASPECT_TOLERANCE)),
        (high, high and aspect > high.value * (1 + _ASPECT_TOLERANCE)),
    ):
        if bound is not None and outside and _applies(bound, chain):
            verb = "rejects" if bound.by == "platform" else "would crop"
            message = f"{shape}: {_who(bound, name)} {verb} ratios beyond {bound.value:g} [{bound.cited}]"
            out.add(bound.severity, item.error(at, prefix + message, "crop the image yourself"))
    choices = [n for n in rules.aspects if _applies(n, chain)]
    if choices and not any(abs(aspect - n.value) <= n.value * _ASPECT_TOLERANCE for n in choices):
        who = _who(choices[0], name)
        ratios = ", ".join(n.note or f"{n.value:g}" for n in choices)
        message = f"{shape}: {who} would crop it to one of {ratios} [{choices[0].cited}]"
        out.add(
            choices[0].severity, item.error(at, prefix + message, "crop the image to one of those ratios")
        )


def _limits(rules: PlatformRules, kind: KindRules, item: _Recorder) -> list[Limit]:
    """The kind's limits, or the placement's where it has its own (Facebook reels: 3-90 s)."""
    placement = rules.placements.get(str(item.delivery.options.get("placement")))
    return placement.limits if placement is not None and placement.limits is not None else kind.limits


_UNITS = {"fps": "fps", "width": "px", "height": "px"}  # durations read "150 s (2 min 30 s)"
_SHOWN = {"duration": "{} long", "fps": "{}", "width": "{} wide", "height": "{} high"}
_FIXES = {
    ("duration", "max"): "trim the {kind} to {limit} or less",
    ("duration", "min"): "use a {kind} at least {limit} long",
    ("fps", "max"): "re-encode the {kind} at {limit} or less",
    ("fps", "min"): "re-encode the {kind} at {limit} or more",
    ("width", "max"): "scale the {kind} down to {limit} wide or less",
    ("width", "min"): "use a {kind} at least {limit} wide",
    ("height", "max"): "scale the {kind} down to {limit} high or less",
    ("height", "min"): "use a {kind} at least {limit} high",
}


def _measures(
    item: _Recorder,
    at: PathKey,
    index: int,
    info: MediaInfo,
    limits: list[Limit],
    name: str,
    chain: list[str],
    out: _Recorder,
) -> None:
    """Durations, frame rates and shown sizes against their limits; what the probe could not read is
    skipped (it reported why)."""
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: media[{index}]: "
    for limit in limits:
        value = getattr(info, limit.measure)
        if value is None or not _applies(limit, chain):
            continue
        if value > limit.value if limit.bound == "max" else value < limit.value:
            verb = "allows at most" if limit.bound == "max" else "needs at least"
            bound = _shown(limit.measure, limit.value)
            note = f": {limit.note}" if limit.note else ""
            message = (
                f"{_SHOWN[limit.measure].format(_shown(limit.measure, value))}; {_who(limit, name)} {verb} "
                f"{bound}{note} [{limit.cited}]"
            )
            fix = _FIXES[limit.measure, limit.bound].format(kind=info.kind, limit=bound)
            out.add(limit.severity, item.error(at, prefix + message, fix))


def _shown(measure: str, value: float) -> str:
    if measure != "duration":
        return f"{_number(value)} {_UNITS[measure]}"
    minutes, seconds = divmod(round(value), 60)
    if not minutes:
        return f"{_number(value)} s"
    return f"{_number(value)} s ({minutes} min{f' {seconds} s' if seconds else ''})"


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _counts(
    item: _Recorder, kinds: list[str], rules: PlatformRules, chain: list[str], out: _Recorder
) -> None:
    name = PLATFORM_NAMES[item.delivery.platform]
    prefix = f"{PLATFORM_KEYS[item.delivery.platform]}: "
    at = (*item.batch_key, "media")
    caps: list[tuple[Number, int, str]] = []
    if rules.media.max_items is not None:
        caps.append((rules.media.max_items, len(kinds), "items"))
    for kind in sorted(set(kinds)):
        kind_rules = rules.media.kinds.get(kind)
        if kind_rules is not None and kind_rules.max_items is not None:
            caps.append((kind_rules.max_items, kinds.count(kind), f"{kind}s" if kind != "gif" else "GIFs"))
    placement_name = item.delivery.options.get("placement")
    placement = rules.placements.get(str(placement_name))
    if placement is not None:
        if placement.max_items is not None:
            caps.append((placement.max_items, len(kinds), f"items in {placement_name}"))
        if any(kind not in placement.kinds for kind in kinds):
            message = f"{name} {placement_name} take {' or '.join(placement.kinds)} only"
            out.add("error", item.error(at, prefix + message, "change the media or the placement"))
    for cap, count, what in caps:
        if _applies(cap, chain) and count > cap.limit:
            if cap.by == "platform":
                message = f"{count} {what}; {name} allows {cap.limit} [{cap.cited}]"
            else:
                note = f": {cap.note}" if cap.note else ""
                message = (
                    f"{count} {what}; over {cap.limit}, {_who(cap, name)} alters the post{note} [{cap.cited}]"
                )
            out.add(cap.severity, item.error(at, prefix + message, f"use at most {cap.limit}"))


def _same_aspect(item: _Recorder, infos: list[MediaInfo], rules: PlatformRules, out: _Recorder) -> None:
    first = infos[0].aspect
    for index, info in enumerate(infos[1:], start=1):
        if first and info.aspect and abs(info.aspect - first) > first * _ASPECT_TOLERANCE:
            message = (
                f"{PLATFORM_KEYS[item.delivery.platform]}: media[{index}] has ratio {info.aspect:.2f}, the first item "
                f"{first:.2f}: Post for Me resizes carousel items to the first one's size [PFM1]"
            )
            out.add(
                "error", item.error((*item.batch_key, "media", index), message, "give all items one ratio")
            )
            return
