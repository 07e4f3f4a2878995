"""How `validate` and `plan` print what validation found: in colour on a terminal, else as plain
lines written at once (a pre-commit hook or CI log gains nothing from rich's markup and
highlighting per line, and a thousand warnings took a third of a second through it).

A warning repeated within one file (the same message and fix at several places) is printed in
full once, then as one line with the places of the others.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from postdeck.errors import CampaignError

REPEATS_FOLDED_FROM = 3  # identical warnings in one file; fewer are printed one by one

_STYLES = {"error": "red", "warning": "yellow", "ok": "green"}


class Printer:
    """Collects lines for stdout and stderr; `flush` writes them."""

    def __init__(self) -> None:
        self._lines: list[tuple[bool, str, str]] = []  # (to stderr, style, text)

    def error(self, text: str) -> None:
        self._lines.append((True, "error", text))

    def warning(self, text: str) -> None:
        self._lines.append((True, "warning", "warning: " + text))

    def ok(self, text: str) -> None:
        self._lines.append((False, "ok", text))

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        for to_stderr in (True, False):
            mine = [(style, text) for err, style, text in lines if err == to_stderr]
            if mine:
                _write(mine, sys.stderr if to_stderr else sys.stdout, to_stderr)


def findings(printer: Printer, errors: Iterable[CampaignError], warnings: Iterable[CampaignError]) -> None:
    """A file's errors, then its warnings (repeats folded)."""
    for error in errors:
        printer.error(str(error))
    for line in folded(warnings):
        printer.warning(line)


def folded(warnings: Iterable[CampaignError]) -> Iterator[str]:
    """Each warning, except that from REPEATS_FOLDED_FROM alike (same message and fix, in one
    file) the first is followed by one line giving where the others are."""
    warnings = list(warnings)
    alike: dict[tuple[str, str, str], list[CampaignError]] = {}
    for warning in warnings:
        alike.setdefault((warning.location.path, warning.message, warning.fix), []).append(warning)
    for warning in warnings:
        group = alike[(warning.location.path, warning.message, warning.fix)]
        if len(group) < REPEATS_FOLDED_FROM:
            yield str(warning)
        elif warning is group[0]:
            yield str(warning)
            places = ", ".join(_place(w) for w in group[1:])
            yield f"{warning.location.path}: … and {len(group) - 1} more like this ({places})"


def _place(warning: CampaignError) -> str:
    location = warning.location
    where = f"{location.line}:{location.column}" if location.column is not None else str(location.line)
    return f"{warning.field} at {where}" if warning.field else where


def _write(lines: list[tuple[str, str]], stream: TextIO, to_stderr: bool) -> None:
    if _plain(stream):
        stream.write("".join(text + "\n" for _, text in lines))
        stream.flush()
        return
    from rich.markup import escape

    from postdeck.commands import common

    console = common.err_console if to_stderr else common.console
    marked = [f"[{_STYLES[style]}]{escape(text)}[/{_STYLES[style]}]" for style, text in lines]
    console.print("\n".join(marked), highlight=False, soft_wrap=True)


def _plain(stream: TextIO) -> bool:
    """No terminal (and no FORCE_COLOR, which rich honours): rich would print the same text."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    from postdeck.settings import settings  # not imported before a command prints

    return not terminal and not settings().force_color
