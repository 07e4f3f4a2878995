"""The calendar as compact Markdown: one table per month (weeks × days, the campaign's timezone),
each day listing its deliveries with their status and post link. For the publish flow's Prefect
markdown artifact, which must stay small (Prefect refuses events over 1.5 MB): a day lists at most
PER_DAY deliveries and the artifact at most MAX_MONTHS months, each cut said in the table.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postdeck.schemas.delivery import Delivery
from postdeck.schemas.findings import PLATFORM_NAMES

PER_DAY = 4
MAX_MONTHS = 6
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def month_markdown(
    campaign: str,
    timezone: str,
    deliveries: Sequence[Delivery],
    reports: Sequence[Mapping[str, Any]],
    now: datetime,
    site: Path | str | None = None,
) -> str:
    """`reports`: the run's rows (key, action, status, url), matched to `deliveries` by key. A
    delivery without a time is shown on the day of `now` (it went out when the run did). `site`: the
    run's full preview (its index.html, linked by file:// URL and shown as a path to copy), or the
    sentence saying why it was not written."""
    zone = ZoneInfo(timezone)
    by_key = {r["key"]: r for r in reports}
    days: dict[date, list[str]] = defaultdict(list)
    for d in sorted(deliveries, key=lambda d: (d.at or now, d.key)):
        local = (d.at or now).astimezone(zone)
        days[local.date()].append(_entry(d, local, by_key.get(d.key, {})))
    lines = [f"## {_text(campaign)}: calendar ({_text(timezone)})", ""]
    if isinstance(site, Path):
        uri = site.as_uri()
        lines += [
            f"The full preview of this run: [{_text(site.name)}]({_url(uri)}), at `{_code(str(site))}`",
            "",
        ]
    elif site:
        lines += [_text(site), ""]
    months = sorted({(day.year, day.month) for day in days})
    for year, month in months[:MAX_MONTHS]:
        lines += _month(year, month, days)
    if len(months) > MAX_MONTHS:
        rest = sum(len(v) for k, v in days.items() if (k.year, k.month) in months[MAX_MONTHS:])
        lines.append(
            f"… and {len(months) - MAX_MONTHS} more months ({rest} deliveries): see the preview site."
        )
    if not months:
        lines.append("No deliveries.")
    return "\n".join(lines) + "\n"


def _month(year: int, month: int, days: dict[date, list[str]]) -> list[str]:
    lines = [f"### {calendar.month_name[month]} {year}", "", "| " + " | ".join(_WEEKDAYS) + " |"]
    lines.append("|" + "---|" * 7)
    for week in calendar.Calendar().monthdatescalendar(year, month):
        cells = []
        for day in week:
            if day.month != month:
                cells.append("")
                continue
            entries = days.get(day, [])
            shown = entries[:PER_DAY] + (
                [f"+{len(entries) - PER_DAY} more"] if len(entries) > PER_DAY else []
            )
            cells.append("<br>".join([f"**{day.day}**", *shown]))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _entry(delivery: Delivery, local: datetime, report: Mapping[str, Any]) -> str:
    when = local.strftime("%H:%M") if delivery.at else "now"
    state = _text(str(report.get("status") or report.get("action") or "planned"))
    url = report.get("url")
    if url and str(url).startswith(("https://", "http://")):
        state = f"[{state}]({_url(str(url))})"
    return f"{when} {PLATFORM_NAMES[delivery.platform]} {state}"


def _text(text: str) -> str:
    """Cell text: no pipes, no HTML, no line breaks, no Markdown emphasis or links."""
    for char, escaped in (
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("*", "\\*"),
        ("_", "\\_"),
        ("[", "\\["),
        ("]", "\\]"),
    ):
        text = text.replace(char, escaped)
    return " ".join(text.split())


def _code(text: str) -> str:
    """Inline code text: no backtick can end it, no line break."""
    return text.replace("`", "'").replace("\r", " ").replace("\n", " ")


def _url(url: str) -> str:
    """A link target that cannot end the link or the cell."""
    return (
        url.replace("|", "%7C")
        .replace(")", "%29")
        .replace("(", "%28")
        .replace(" ", "%20")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )
