"""Validate campaign files: the language, then every delivery against its platform and providers,
then the calendar across all the files checked together. Every problem of a file at once.

Many files are checked in forked child processes (they start warm, with everything imported), one
slice of the files each, while this process checks the first slice; the calendar rules then run
over all of them here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from postdeck.core.platform import Platform
from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.check_calendar import Entry, check_calendar, entries_of
from postdeck.schemas.check_features import check_route, extra_texts
from postdeck.schemas.check_media import check_media
from postdeck.schemas.check_options import check_options
from postdeck.schemas.check_text import check_text
from postdeck.schemas.expansion import Prepared, expand_all
from postdeck.schemas.file_limits import DEFAULT_LIMITS, FileLimits
from postdeck.schemas.findings import Findings
from postdeck.schemas.loader import LoadedCampaign, read_campaign, sort_errors
from postdeck.schemas.render import Renderer
from postdeck.schemas.routing import route
from postdeck.schemas.rules import Rules, platform_rules
from postdeck.schemas.timing import late_failures

PARALLEL_FROM = 8  # files; below this, starting workers costs more than it saves


@dataclass
class FileReport:
    path: Path
    loaded: LoadedCampaign | None = None  # None when checked in a worker process
    prepared: list[Prepared] = field(default_factory=list)  # likewise empty
    findings: Findings = field(default_factory=Findings)
    entries: list[Entry] = field(default_factory=list)  # for the calendar rules
    # Batches under `late: fail` whose time had passed (with their delivery keys), when checked
    # with a `now`: errors unless the ledger has them (validate's caller knows the ledger).
    late: list[tuple[tuple[str, ...], CampaignError]] = field(default_factory=list)

    @property
    def errors(self) -> list[CampaignError]:
        return sort_errors(self.findings.errors)

    @property
    def warnings(self) -> list[CampaignError]:
        return sort_errors(self.findings.warnings)

    @property
    def ok(self) -> bool:
        return not self.findings.errors


def check_file(path: Path, text: str | None = None, *, limits: FileLimits = DEFAULT_LIMITS) -> FileReport:
    """Every problem of one file (the calendar checks see this file alone). Given `text`, that is
    checked as the file at `path` (its media and templates found beside it) before it is written."""
    report = _check_one(path, text=text, limits=limits)
    check_calendar(report.entries, platform_rules(), report.findings)
    return report


def require_valid(path: Path, *, limits: FileLimits = DEFAULT_LIMITS) -> FileReport:
    """For publishing: the file's report if it is valid, else CampaignErrors listing every error."""
    report = check_file(path, limits=limits)
    if not report.ok:
        raise CampaignErrors(report.errors)
    return report


def check_files(
    paths: Iterable[Path],
    *,
    jobs: int | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> list[FileReport]:
    """Every problem of each file; caps and duplicates count across all of them (shared accounts)."""
    paths = list(paths)
    jobs = jobs if jobs is not None else _default_jobs(len(paths))
    if jobs > 1 and hasattr(os, "fork"):
        reports = _parallel(paths, jobs, limits, now)
    else:
        renderers: dict[Path, Renderer] = {}  # shared by the files of one folder, for this run only
        reports = [_check_one(path, renderers, limits, now) for path in paths]
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
    routing = _routed_options(rules)
    for item in items:
        delivery = item.delivery
        platform = rules.of(delivery.platform)
        chain = rules.chain
        if delivery.thread or (
            delivery.options and not routing[delivery.platform].isdisjoint(delivery.options)
        ):
            # Routed by what it needs: only the providers it can go to hold it to their rules.
            routed = route(item.delivery, rules=rules)
            check_route(item, routed, rules, out)
            if routed.restricted and routed.providers:
                chain = list(routed.providers)
            for part in extra_texts(item):
                check_text(part, platform, chain, out, comment=part.comment)
                if part.has_media:
                    check_media(part, platform, chain, out)
        check_text(item, platform, chain, out)
        check_options(item, platform, chain, out)
        check_media(item, platform, chain, out)
    return out


_ROUTED: dict[int, dict[Platform, frozenset[str]]] = {}


def _routed_options(rules: Rules) -> dict[Platform, frozenset[str]]:
    """The options that can route a delivery (a first comment; a value some provider would alter),
    per platform: a delivery with none of them (nor a thread) goes to any provider, and routing has
    nothing to say of it. The rules are loaded once per process, so id() is stable."""
    found = _ROUTED.get(id(rules))
    if found is None:
        found = _ROUTED[id(rules)] = {
            name: frozenset(
                {
                    "first_comment",
                    *(option for option, rule in platform.options.items() if rule.provider_values),
                }
            )
            for name, platform in rules.platforms.items()
        }
    return found


def _check_one(
    path: Path,
    renderers: dict[Path, Renderer] | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
    text: str | None = None,
) -> FileReport:
    loaded, errors = read_campaign(path, text, limits=limits)
    report = FileReport(path=path, loaded=loaded)
    report.findings.errors += errors
    if loaded is None:
        return report
    prepared, render_errors = expand_all(loaded, renderers=renderers)
    report.prepared = prepared
    report.entries = entries_of(prepared, platform_rules())
    report.findings.errors += render_errors
    report.findings.extend(check_prepared(prepared))
    if now is not None:
        report.late = late_failures(loaded, [item.delivery for item in prepared], now)
    return report


def _default_jobs(files: int) -> int:
    if files < PARALLEL_FROM or not hasattr(os, "fork"):
        return 1  # without fork, workers would re-import everything: slower than one process
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, 8, files // (PARALLEL_FROM // 2)))


# ---- checking slices of the files in forked children --------------------------------------------
# A bare fork and a pipe, not multiprocessing: importing multiprocessing and starting a pool cost
# more than a child's whole share of a 100-file run on two cores.


def _parallel(paths: list[Path], jobs: int, limits: FileLimits, now: datetime | None) -> list[FileReport]:
    """Children check all slices but the first, which this process checks meanwhile. A child that
    fails has its slice checked here instead (so any error is raised here, with its traceback)."""
    platform_rules()  # load once, before forking, so that no child reads it again
    slices = [paths[i::jobs] for i in range(jobs)]
    children = [(chunk, _fork(chunk, limits, now)) for chunk in slices[1:]]
    try:
        renderers: dict[Path, Renderer] = {}
        done = [_check_one(path, renderers, limits, now) for path in slices[0]]
        while children:
            chunk, child = children.pop(0)
            slim = _collect(child)
            done += slim if slim is not None else [_check_one(path, renderers, limits, now) for path in chunk]
    finally:
        for _, child in children:  # only left if this process failed: leave no child behind
            _abandon(child)
    reports = {str(r.path): r for r in done}
    return [reports[str(path)] for path in paths]


def _fork(chunk: list[Path], limits: FileLimits, now: datetime | None = None) -> tuple[int, int] | None:
    """(pid, read end of its pipe) of a child checking `chunk`; None if no child could start."""
    try:
        read, write = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid:
        os.close(write)
        return pid, read
    # The child: never returns, never runs the parent's clean-up (atexit, buffered output, pytest).
    status = 1
    try:
        os.close(read)
        gc.disable()  # short-lived: its garbage goes with it
        data = pickle.dumps(_check_slice(chunk, limits, now), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _collect(child: tuple[int, int] | None) -> list[FileReport] | None:
    """The child's reports, or None if it failed."""
    if child is None:
        return None
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    return [_unslim(item) for item in pickle.loads(data)]


def _abandon(child: tuple[int, int] | None) -> None:
    if child is None:
        return
    pid, read = child
    os.close(read)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


Slim = tuple[str, list[CampaignError], list[CampaignError], list[tuple[Any, ...]], list[Any]]


def _check_slice(paths: list[Path], limits: FileLimits, now: datetime | None = None) -> list[Slim]:
    """In a child: check files, and send back only what the parent needs (no models, no sources),
    as plain tuples (pickling the Entry named tuples one by one took several times longer)."""
    slim: list[Slim] = []
    renderers: dict[Path, Renderer] = {}
    for path in paths:
        report = _check_one(path, renderers, limits, now)
        findings = report.findings
        entries = [tuple(e) for e in report.entries]
        slim.append((str(path), findings.errors, findings.warnings, entries, report.late))
    return slim


def _unslim(item: Slim) -> FileReport:
    path, errors, warnings, entries, late = item
    return FileReport(
        path=Path(path),
        findings=Findings(errors, warnings),
        entries=[Entry._make(e) for e in entries],
        late=late,
    )
