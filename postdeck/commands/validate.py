"""`postdeck validate`: check campaign files, fast enough for a pre-commit hook.

Imports only the schemas package (no Prefect, no provider clients, no HTTP), and only when run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands.common import app, collector_paused


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Campaign files or folders (searched for *.yaml).")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only, no warnings.")] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes (0: one per CPU for many files).")
    ] = 0,
) -> None:
    """Check campaign files: every problem, with file:line:column, field and fix. Exit 1 if any.

    Example: postdeck validate campaigns/
    """
    from postdeck.commands.output import Printer, findings
    from postdeck.schemas.validation import check_files

    printer = Printer()
    files, missing = campaign_files(paths)
    for path in missing:
        printer.error(f"{path}: no such file or folder")
    with collector_paused():
        reports = check_files(files, jobs=jobs or None)
    errors = warnings = 0
    for report in reports:
        found, notes = report.errors, report.warnings  # each sorted, once
        findings(printer, found, [] if quiet else notes)
        errors += len(found)
        warnings += len(notes)
    invalid = sum(not r.ok for r in reports)
    summary = f"{len(reports)} campaign file(s): {len(reports) - invalid} valid, {invalid} invalid"
    summary += f" ({errors} error(s), {warnings} warning(s))"
    if invalid or missing or not reports:
        printer.error(summary if reports else "no campaign files found")
        printer.flush()
        raise typer.Exit(1)
    printer.ok(summary)
    printer.flush()


def campaign_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The campaign files under `paths` (folders searched, templates/ skipped), and missing paths."""
    files: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in (".yaml", ".yml")
                    and p.is_file()
                    and "templates" not in p.relative_to(path).parts
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(path)
    return files, missing
