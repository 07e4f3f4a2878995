"""A campaign file from a CSV of posts (`postdeck campaign new NAME --from-csv FILE`).

One batch per row, written by campaign_writer and checked by the campaign's own validation before
anything is written: every problem is reported against the CSV (`file.csv:ROW:COLUMN`), all at
once, and the file is written only when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from postdeck.campaign_writer import CampaignDraft, CampaignWriteError, Message, campaign_yaml, write_campaign
from postdeck.core.platform import Platform
from postdeck.csv_sheet import ALIASES, PLATFORM_COLUMNS, CsvCellError, Row, Sheet, read_sheet
from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.validation import FileReport, check_file

_SEPARATORS = re.compile(r"[;,\n]")  # between the platforms, or the media, of one cell
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_BATCH_FIELD = re.compile(r"^batches\[(\d+)\](?:\.(.+))?$")
_PLATFORM_VAR = re.compile(r"^vars\.(\w+?)_(\w+)")  # campaign_writer's {platform}_{field} variables


@dataclass(frozen=True)
class Imported:
    path: Path  # the campaign file written
    rows: int
    platforms: tuple[Platform, ...]  # the campaign's default platforms
    warnings: list[CampaignError] = field(default_factory=list)  # located in the CSV


def import_csv(
    name: str,
    csv_path: Path,
    out: Path,
    *,
    now: datetime,
    timezone: str,
    platforms: Sequence[Platform],
    owner: str | None = None,
    style: str | None = None,
    styles: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Imported:
    """Write `out` from the rows of `csv_path`. Raises CampaignErrors (every problem, located in the
    CSV) and writes nothing if any row is bad; CampaignWriteError if `out` exists without `force`."""
    if out.exists() and not force:
        raise CampaignWriteError(f"{out} exists: choose another name or pass --force")
    sheet = read_sheet(csv_path)
    errors: list[CampaignError] = list(sheet.errors)
    warnings: list[CampaignError] = []
    text = ""
    if sheet.rows:
        draft = CampaignDraft(
            name=name,
            messages=[_message(row) for row in sheet.rows],
            timezone=timezone,
            platforms=platforms,
            owner=owner,
            style=style,
            styles=dict(styles or {}),
            source=f"{csv_path.name} ({len(sheet.rows)} rows)",
        )
        text = campaign_yaml(draft)  # the name and timezone are the command's: raised, not located
        report = check_file(out, text)
        errors += [_in_csv(e, sheet) for e in report.errors] + _passed(report, sheet, now)
        warnings = [_in_csv(w, sheet) for w in report.warnings]
    if errors:
        raise CampaignErrors(_by_row(errors))
    write_campaign(out, text, overwrite=force)
    return Imported(out, len(sheet.rows), tuple(platforms), _by_row(warnings))


def _message(row: Row) -> Message:
    cells = row.cells
    blocks: dict[str, dict[str, Any]] = {}
    for column, value in cells.items():
        if column in PLATFORM_COLUMNS:
            platform, name = PLATFORM_COLUMNS[column]
            blocks.setdefault(platform, {})[name] = _flag(value) if name == "truncate" else value
    settings: dict[str, Any] = {}
    if "truncate" in cells:
        settings["truncate"] = _flag(cells["truncate"])
    if "late" in cells:
        settings["late"] = cells["late"].lower()
    platforms = None
    if "platforms" in cells:
        names = (p.strip().lower() for p in _SEPARATORS.split(cells["platforms"]))
        platforms = tuple(ALIASES.get(p, p) for p in names if p)
    return Message(
        caption=cells["caption"],
        media=tuple(m.strip() for m in _SEPARATORS.split(cells.get("media", "")) if m.strip()),
        id=cells.get("id"),
        at=cells["at"],
        platforms=platforms,
        blocks=blocks,
        settings=settings,
    )


def _flag(value: str) -> bool | str:
    """true/false as YAML writes them; anything else as written, for validation to refuse."""
    word = value.strip().lower()
    return True if word in _TRUE else False if word in _FALSE else value


def _in_csv(finding: CampaignError, sheet: Sheet) -> CampaignError:
    """A finding of the campaign's validation, told at the CSV row and column it came from."""
    match = _BATCH_FIELD.match(finding.field)
    if match is None:  # about the campaign as a whole (its name, timezone, a style)
        return CsvCellError(f"{finding.field}: {finding.message}", path=sheet.path, fix=finding.fix)
    row = sheet.rows[int(match.group(1))]
    column = _column(match.group(2) or "", row, sheet)
    return CsvCellError(finding.message, path=sheet.path, row=row.number, column=column, fix=finding.fix)


def _column(rest: str, row: Row, sheet: Sheet) -> str:
    """The header, as written, of the column that a batch field was written from ('' if none)."""
    head = re.split(r"[.\[]", rest, maxsplit=1)[0]
    if head in ("at", "fold"):
        name = "at"
    elif head == "vars":
        var = _PLATFORM_VAR.match(rest)
        name = f"{var.group(1)}.{var.group(2)}" if var and rest != "vars.message" else "caption"
    elif head in {p.value for p in Platform}:  # a field of the platform's block, or the whole block
        parts = rest.split(".")
        block = [c for c in row.cells if c.startswith(f"{head}.")]
        name = ".".join(parts[:2]) if len(parts) > 1 else (block[0] if block else "platforms")
    else:
        name = head
    return sheet.columns.get(name, "")


def _passed(report: FileReport, sheet: Sheet, now: datetime) -> list[CampaignError]:
    """A row whose time has passed: validation does not know the time, but an import should say."""
    errors: list[CampaignError] = []
    seen: set[int] = set()
    for item in report.prepared:
        at = item.delivery.at
        if at is not None and at <= now and item.batch_index not in seen:
            seen.add(item.batch_index)
            errors.append(
                CsvCellError(
                    f"{at.astimezone(item.loaded.campaign.zone).isoformat(sep=' ', timespec='minutes')} has passed",
                    path=sheet.path,
                    row=sheet.rows[item.batch_index].number,
                    column=sheet.columns["at"],
                    fix="give a future time",
                )
            )
    return errors


def _by_row(errors: list[CampaignError]) -> list[CampaignError]:
    unique = {str(e): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.location.line or 0, e.field))
