"""Read a CSV of posts (for `postdeck campaign new --from-csv`): its header, and each row's cells by
column, with every problem located as `file.csv:ROW:COLUMN` (rows as a spreadsheet numbers them,
the header is row 1).

Only what is wrong with the sheet itself is found here (size, encoding, header, shape, formula-looking
cells, blank required cells); what is wrong with a post is found by the campaign's own validation,
after csv_import.py has turned the rows into batches.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from postdeck.core.platform import ALIASES as PLATFORM_ALIASES
from postdeck.core.platform import Platform
from postdeck.errors import CampaignError, Location
from postdeck.schemas.platform_options import OPTION_FIELDS

MAX_BYTES = 4 * 1024 * 1024  # ~10,000 posts of a few hundred characters: beyond, split the campaign
MAX_ROWS = 5_000
BATCH_COLUMNS = ("id", "at", "caption", "platforms", "media", "truncate", "late")
REQUIRED = ("at", "caption")
# What people call the platform, in cells and column names (core's aliases, as names).
ALIASES = {alias: platform.value for alias, platform in PLATFORM_ALIASES.items()}
PLATFORM_COLUMNS = {
    f"{p.value}.{name}": (p.value, name)
    for p in Platform
    for name in ("caption", "truncate", *OPTION_FIELDS[p])
}
_FORMULA = re.compile(r"^\s*=|^[+\-@][A-Za-z][\w.]*[(|!]")  # =cmd, +SUM(…), -cmd|…, @HYPERLINK(…)
_QUOTED_FORMULA = re.compile(r"^'(?=[=+\-@])")  # a leading apostrophe keeps such text literal
_DELIMITERS = (",", ";", "\t")


class CsvCellError(CampaignError):
    """A problem of one cell, row or the file: `file.csv:ROW:COLUMN: message (fix)`."""

    def __init__(self, message: str, *, path: str, row: int | None = None, column: str = "", fix: str = ""):
        super().__init__(message, location=Location(path, row), field=column, fix=fix)

    def __str__(self) -> str:
        where = str(self.location) + (f":{self.field}" if self.field and self.location.line else "")
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}: {self.message}{fix}"

    def __reduce__(self):
        return (_rebuild, (self.message, self.location.path, self.location.line, self.field, self.fix))


def _rebuild(message: str, path: str, row: int | None, column: str, fix: str) -> CsvCellError:
    return CsvCellError(message, path=path, row=row, column=column, fix=fix)


@dataclass
class Row:
    number: int  # the spreadsheet's row number (the header is 1)
    cells: dict[str, str]  # canonical column name → the cell's text (blank cells left out)


@dataclass
class Sheet:
    path: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical name → the header as written
    rows: list[Row] = field(default_factory=list)  # the rows without errors
    errors: list[CsvCellError] = field(default_factory=list)

    def error(self, message: str, row: int | None = None, column: str = "", fix: str = "") -> None:
        self.errors.append(
            CsvCellError(message, path=self.path, row=row, column=self.columns.get(column, column), fix=fix)
        )


def read_sheet(path: Path) -> Sheet:
    """The rows of a CSV file. Its errors are all in Sheet.errors; a row with one is left out of rows."""
    sheet = Sheet(str(path))
    text = _text(path, sheet)
    if text is None:
        return sheet
    first_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)  # Excel writes ; where , is the decimal mark
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = posts = 0
    header: list[str | None] = []  # the first row's, read before any other
    try:
        for number, record in enumerate(reader, 1):
            if number == 1:
                found = _header(record, sheet)
                if found is None:
                    return sheet
                header = found
            elif number > MAX_ROWS + 1:
                sheet.error(
                    f"more than {MAX_ROWS} rows", number, fix="split the posts into several campaigns"
                )
                return sheet
            elif any(cell.strip() for cell in record):  # a blank row (spreadsheets leave some): skipped
                posts += 1
                _row(number, record, header, sheet)
    except csv.Error as exc:  # a quote never closed, a NUL byte, a cell beyond the csv module's limit
        sheet.error(f"not readable as CSV: {exc}", number + 1, fix="save the sheet again as CSV UTF-8")
    if number == 0:
        sheet.error(
            "the file is empty", fix="write a header row (at,caption,platforms,media), then one row a post"
        )
    elif posts == 0 and not sheet.errors:
        sheet.error("the file has a header but no posts", fix="add one row a post below the header")
    return sheet


def _text(path: Path, sheet: Sheet) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            sheet.error(
                f"the file has {size:,} bytes, more than the {MAX_BYTES:,} a CSV import takes",
                fix="split the posts into several campaigns",
            )
            return None
        data = path.read_bytes()
    except OSError as exc:
        sheet.error(f"cannot read it: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        sheet.error(
            f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            fix="save the sheet as CSV UTF-8",
        )
        return None


def _header(record: list[str], sheet: Sheet) -> list[str | None] | None:
    """The canonical name of each column (None: a nameless column, ignored if blank); None if bad."""
    names: list[str | None] = []
    bad = False
    for cell in record:
        written = cell.strip()
        name = _canonical(written)
        if not written:
            names.append(None)
            continue
        if name in sheet.columns:
            sheet.error(f"column '{written}' appears twice", 1, written, fix="keep one of them")
            bad = True
        elif name not in BATCH_COLUMNS and name not in PLATFORM_COLUMNS:
            sheet.error(f"unknown column '{written}'", 1, written, fix=_column_fix(name))
            bad = True
        sheet.columns.setdefault(name, written)
        names.append(name)
    for name in REQUIRED:
        if name not in sheet.columns:
            sheet.error(
                f"no '{name}' column",
                1,
                fix="the first row names the columns: at, caption, and optionally platforms, media, id, "
                "truncate, late, PLATFORM.caption, PLATFORM.OPTION",
            )
            bad = True
    return None if bad else names


def _canonical(written: str) -> str:
    name = written.strip().lower()
    platform, dot, rest = name.partition(".")
    return f"{ALIASES.get(platform, platform)}.{rest}" if dot else name


def _column_fix(name: str) -> str:
    platform, dot, _ = name.partition(".")
    if dot and platform in {p.value for p in Platform}:
        fields = ", ".join(("caption", "truncate", *OPTION_FIELDS[Platform(platform)]))
        return f"{platform} columns are {platform}.FIELD with FIELD one of {fields}"
    if dot:
        return f"a platform column starts with a platform: {', '.join(p.value for p in Platform)} (or x)"
    return f"use one of {', '.join(BATCH_COLUMNS)}, or PLATFORM.caption / PLATFORM.OPTION"


def _row(number: int, record: list[str], header: list[str | None], sheet: Sheet) -> None:
    before = len(sheet.errors)
    if len(record) > len(header):
        extra = [cell for cell in record[len(header) :] if cell.strip()]
        if extra:
            sheet.error(
                f"{len(record)} cells, but the header names {len(header)} columns",
                number,
                fix="quote cells that hold the delimiter, or add a name for the extra column",
            )
    cells: dict[str, str] = {}
    for name, cell in zip(header, record, strict=False):
        if name is None:
            if cell.strip():
                sheet.error("a cell under a column with no name", number, fix="name the column or empty it")
            continue
        if _FORMULA.match(cell):
            sheet.error(
                f"'{_short(cell)}' looks like a spreadsheet formula",
                number,
                name,
                fix="write the text it should post; to post text that starts like this, start the cell with '",
            )
            continue
        value = _QUOTED_FORMULA.sub("", cell.strip())
        if value:
            cells[name] = value
    for name in REQUIRED:
        if name not in cells and name in sheet.columns and not _formula_at(sheet, before, name):
            sheet.error(f"{name} is empty", number, name, fix=_EMPTY_FIX[name])
    if len(sheet.errors) == before:
        sheet.rows.append(Row(number, cells))


_EMPTY_FIX = {
    "at": "every post needs its time, e.g. 2030-06-01 09:00 (in the campaign's timezone)",
    "caption": "write the text of the post",
}


def _formula_at(sheet: Sheet, since: int, name: str) -> bool:
    return any(e.field == sheet.columns.get(name) for e in sheet.errors[since:])


def _short(cell: str) -> str:
    cell = cell.strip().replace("\n", " ")
    return cell if len(cell) <= 40 else cell[:39] + "…"
