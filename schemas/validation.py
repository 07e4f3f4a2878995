"""Validate campaign files: the language, then every delivery against its platform and providers,
then the calendar across all the files checked together. Every problem of a file at once.

Many files are checked in worker processes (forked, so they start warm), one slice of the files
each; the calendar rules then run over all of them in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.check_calendar import Entry, check_calendar, entries_of
from postdeck.schemas.check_media import check_media
from postdeck.schemas.check_options import check_options
from postdeck.schemas.check_text import check_text
from postdeck.schemas.expansion import Prepared, expand_all
from postdeck.schemas.findings import Findings
from postdeck.schemas.loader import LoadedCampaign, read_campaign, sort_errors
from postdeck.schemas.rules import platform_rules

PARALLEL_FROM = 8  # files; below this, starting workers costs more than it saves


@dataclass
class FileReport:
    path: Path
    loaded: LoadedCampaign | None = None  # None when checked in a worker process
    prepared: list[Prepared] = field(default_factory=list)  # likewise empty
    findings: Findings = field(default_factory=Findings)
    entries: list[Entry] = field(default_factory=list)  # for the calendar rules

    @property
    def errors(self) -> list[CampaignError]:
        return sort_errors(self.findings.errors)

    @property
    def warnings(self) -> list[CampaignError]:
        return sort_errors(self.findings.warnings)

    @property
    def ok(self) -> bool:
        return not self.findings.errors


def check_file(path: Path) -> FileReport:
    """Every problem of one file (the calendar checks see this file alone)."""
    report = _check_one(path)
    check_calendar(report.entries, platform_rules(), report.findings)
    return report


def require_valid(path: Path) -> FileReport:
    """For publishing: the file's report if it is valid, else CampaignErrors listing every error."""
    report = check_file(path)
    if not report.ok:
        raise CampaignErrors(report.errors)
    return report


def check_files(paths: Iterable[Path], *, jobs: int | None = None) -> list[FileReport]:
    """Every problem of each file; caps and duplicates count across all of them (shared accounts)."""
    paths = list(paths)
    jobs = jobs if jobs is not None else _default_jobs(len(paths))
    reports = _parallel(paths, jobs) if jobs > 1 else [_check_one(path) for path in paths]
    calendar = Findings()
    check_calendar([entry for report in reports for entry in report.entries], platform_rules(), calendar)
    by_path = {str(report.path): report for report in reports}
    for finding in calendar.errors:
        by_path[finding.location.path].findings.add("error", finding)
    return reports


def check_prepared(items: Sequence[Prepared]) -> Findings:
    """The per-delivery rules (text, options, media) of rendered deliveries."""
    rules = platform_rules()
    out = Findings()
    for item in items:
        platform = rules.of(item.delivery.platform)
        check_text(item, platform, rules.chain, out)
        check_options(item, platform, rules.chain, out)
        check_media(item, platform, rules.chain, out)
    return out


def _check_one(path: Path) -> FileReport:
    loaded, errors = read_campaign(path)
    report = FileReport(path=path, loaded=loaded)
    report.findings.errors += errors
    if loaded is None:
        return report
    prepared, render_errors = expand_all(loaded)
    report.prepared = prepared
    report.entries = entries_of(prepared, platform_rules())
    report.findings.errors += render_errors
    report.findings.extend(check_prepared(prepared))
    return report


def _default_jobs(files: int) -> int:
    if files < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1  # without fork, workers would re-import everything: slower than one process
    return min(os.cpu_count() or 1, 8, files // (PARALLEL_FROM // 2))


def _parallel(paths: list[Path], jobs: int) -> list[FileReport]:
    """Workers check all slices but the first, which this process checks meanwhile."""
    platform_rules()  # load once, before forking, so that no worker reads it again
    slices = [paths[i::jobs] for i in range(jobs)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context) as pool:
        futures = [pool.submit(_check_slice, chunk) for chunk in slices[1:]]
        done = [[_check_one(path) for path in slices[0]], *(f.result() for f in futures)]
    reports = {str(r.path): r for chunk in done for r in chunk}
    return [reports[str(path)] for path in paths]


def _check_slice(paths: list[Path]) -> list[FileReport]:
    """In a worker: check files, and send back only what the parent needs (no models, no sources)."""
    slim = []
    for path in paths:
        report = _check_one(path)
        slim.append(FileReport(path=report.path, findings=report.findings, entries=report.entries))
    return slim
