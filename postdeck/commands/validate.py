"""`postdeck validate`: check campaign files, fast enough for a pre-commit hook.

Imports only the schemas package (no Prefect, no provider clients, no HTTP), and only when run.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    output: Annotated[
        str, typer.Option("--format", "-f", help="text, or json (one document on stdout).")
    ] = "text",
) -> None:
    """Check campaign files: every problem, with file:line:column, field and fix. Exit 1 if any.

    Example: postdeck validate campaigns/
    """
    from postdeck.commands.findings_out import github_annotations, in_github_actions
    from postdeck.commands.output import Printer, findings
    from postdeck.schemas.campaign_names import name_clashes
    from postdeck.schemas.validation import check_files
    from postdeck.settings import file_limits

    if output not in ("text", "json"):
        raise typer.BadParameter(f"unknown format {output!r}: text or json", param_hint="--format")
    printer = Printer()
    files, missing = campaign_files(paths)
    for path in missing:
        printer.error(f"{path}: no such file or folder")
    with collector_paused():
        reports = check_files(files, jobs=jobs or None, limits=file_limits(), now=datetime.now(UTC))
        by_path = {str(report.path): report for report in reports}
        for clash in name_clashes(files, limits=file_limits()):  # they would share ledger keys
            by_path[clash.location.path].findings.add("error", clash)
        _late_errors(reports)
    if in_github_actions():  # annotations on the pull request's diff, beside the normal output
        for line in github_annotations(
            [e for r in reports for e in r.errors], [] if quiet else [w for r in reports for w in r.warnings]
        ):
            print(line)
    if output == "json":
        _print_json(reports, missing, quiet=quiet)
        return
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


def _late_errors(reports: list) -> None:
    """A batch under `late: fail` whose time has passed is an error (publish would fail on it),
    unless the ledger has its deliveries: published already, the plan leaves them alone. The
    ledger is opened only when some batch is late."""
    late = [(report, keys, error) for report in reports for keys, error in report.late]
    if not late:
        return
    recorded = _recorded([key for _, keys, _ in late for key in keys])
    for report, keys, error in late:
        if not set(keys) <= recorded:
            report.findings.add("error", error)


def _recorded(keys: list[str]) -> set[str]:
    from postdeck.errors import PostdeckError
    from postdeck.ledger.factory import open_backend
    from postdeck.ledger.queries import DeliveryQuery
    from postdeck.ledger.sqlite import default_ledger_path
    from postdeck.settings import settings

    if not settings().supabase_url and not default_ledger_path().exists():
        return set()  # no ledger yet (and validate creates none)
    try:
        records = open_backend().find_deliveries(DeliveryQuery(keys=tuple(keys)))
    except PostdeckError:  # no ledger to ask: nothing counts as published
        return set()
    return {record.key for record in records}


def _print_json(reports: list, missing: list[Path], *, quiet: bool) -> None:
    import json

    from postdeck.commands.findings_out import finding_json

    document = {
        "valid": not missing and bool(reports) and all(r.ok for r in reports),
        "missing": [str(p) for p in missing],
        "files": [
            {
                "file": str(r.path),
                "valid": r.ok,
                "findings": [finding_json(e, "error") for e in r.errors]
                + ([] if quiet else [finding_json(w, "warning") for w in r.warnings]),
            }
            for r in reports
        ],
    }
    typer.echo(json.dumps(document, indent=2))
    if not document["valid"]:
        raise typer.Exit(1)


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
