"""`postdeck plan`: what publishing would create, update, cancel or leave alone.

Validates the campaign first (an invalid campaign has no plan), then compares it with the ledger.
Output: a rich table, Markdown (for pull-request comments) or JSON (the same document `--out`
saves for `publish --plan`). Imports no Prefect, and no provider client unless `--refresh` asks the
providers first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from postdeck.commands.common import CampaignArg, app, collector_paused
from postdeck.commands.tables import print_table

if TYPE_CHECKING:
    from rich.table import Table

    from postdeck.engine.plan import Change, Plan
    from postdeck.engine.source import Source
    from postdeck.errors import CampaignError
    from postdeck.ledger.base import Ledger
    from postdeck.schemas.deliveries import CaptionLength
    from postdeck.schemas.loader import LoadedCampaign


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"


UNITS = {
    "x_weighted": "weighted",
    "graphemes": "graphemes",
    "utf8_bytes": "bytes",
    "utf16": "UTF-16",
    "threads": "Threads chars",
}
COLOURS = {
    "create": "green",
    "update": "yellow",
    "cancel": "red",
    "conflict": "magenta",
    "in-flight": "cyan",
    "drift": "yellow",
}


@app.command()
def plan(
    campaign: CampaignArg,
    output: Annotated[Format, typer.Option("--format", "-f", help="table, markdown or json.")] = Format.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Also save the plan as JSON here.")] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0 with no changes, 2 with changes, 1 on error.")
    ] = False,
    ref: Annotated[
        str | None,
        typer.Option(help="Plan the campaign as it is at this git ref (a deleted file plans its cancels)."),
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            help="First ask the providers for every scheduled post: one deleted or moved there is drift."
        ),
    ] = False,
    sandbox: Annotated[bool, typer.Option(help="With --refresh: ask the local simulators.")] = False,
) -> None:
    """Show what publishing would create, update, cancel or leave alone.

    Example: postdeck plan campaigns/example.yaml --format markdown
    """
    from postdeck.engine.source import Source, campaign_source

    refreshing = Refresh(sandbox) if refresh else None
    if ref is None:  # the working tree as it is: no git needed
        _plan(Source(campaign, None), output, out, detailed_exitcode, refreshing)
        return
    with campaign_source(str(campaign), ref) as source:
        _plan(source, output, out, detailed_exitcode, refreshing)


class Refresh:
    """`--refresh`: the plan after asking the campaign owner's providers (or the simulators)."""

    def __init__(self, sandbox: bool) -> None:
        self.sandbox = sandbox

    def __call__(self, result: Plan, owner: str | None, ledger: Ledger) -> Plan:
        from postdeck.engine.refresh import observe, with_drift
        from postdeck.service.chains import service_chain

        records = [c.record for c in result.changes if c.record is not None]
        with service_chain(owner, ledger, sandbox=self.sandbox) as chain:
            return with_drift(result, observe(records, chain))


def _plan(
    source: Source, output: Format, out: Path | None, detailed_exitcode: bool, refresh: Refresh | None = None
) -> None:
    from postdeck.commands.output import Printer, folded
    from postdeck.engine.plan import make_plan
    from postdeck.ledger.factory import open_backend
    from postdeck.schemas.campaign_names import name_clashes
    from postdeck.schemas.loader import load_campaign
    from postdeck.schemas.validation import check_file
    from postdeck.settings import file_limits

    ledger = open_backend()
    if source.deleted:  # nothing of it should exist: the plan cancels what is scheduled
        gone = load_campaign(source.path, limits=file_limits()).campaign
        result = make_plan(gone.name, [], ledger, datetime.now(UTC), owner=gone.owner)
        result = refresh(result, gone.owner, ledger) if refresh else result
        _show(result, {}, output, out, detailed_exitcode)
        return
    with collector_paused():
        report = check_file(source.path, limits=file_limits())
    clashes = name_clashes([source.path], limits=file_limits())  # files beside it (at the ref) of its name
    printer = Printer()
    for line in folded(report.warnings):
        printer.warning(line)
    if clashes or not report.ok or report.loaded is None:
        for error in [*clashes, *report.errors]:
            printer.error(str(error))
        printer.flush()
        raise typer.Exit(1)
    printer.flush()
    now = datetime.now(UTC)
    deliveries = [item.delivery for item in report.prepared]
    result = make_plan(
        report.loaded.campaign.name, deliveries, ledger, now, owner=report.loaded.campaign.owner
    )
    result = refresh(result, report.loaded.campaign.owner, ledger) if refresh else result
    _show(
        result,
        late_notes(report.loaded, result, now),
        output,
        out,
        detailed_exitcode,
        late=_late(report.loaded, result, now),
    )


def _late(loaded: LoadedCampaign, result: Plan, now: datetime) -> list[CampaignError]:
    """The errors a publish of this plan would stop with: creates under `late: fail` already due."""
    from postdeck.engine.decisions import creates_of
    from postdeck.errors import CampaignErrors

    try:
        creates_of(result, loaded, now, allow_repost=False)
    except CampaignErrors as exc:
        return list(exc.errors)
    return []


def _show(
    result: Plan,
    notes: dict[str, str],
    output: Format,
    out: Path | None,
    detailed_exitcode: bool,
    *,
    late: Sequence[CampaignError] = (),
) -> None:
    """The plan; exit 1 after it when publishing it would fail (a due batch under `late: fail`)."""
    from postdeck.engine.plan_file import plan_json, save_plan

    if out is not None:
        save_plan(result, out)
    if output == Format.JSON:
        sys.stdout.writelines(plan_json(result))
    elif output == Format.MARKDOWN:
        typer.echo(plan_markdown(result, notes))
    else:
        print_table(plan_table(result, notes))
    if late:
        from postdeck.commands.output import Printer

        printer = Printer()
        for error in late:
            printer.error(str(error))
        printer.flush()
        raise typer.Exit(1)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


def late_notes(loaded: LoadedCampaign, plan: Plan, now: datetime) -> dict[str, str]:
    """For creates whose time has passed: what the campaign's `late` policy will do with them."""
    from postdeck.core.keys import base_batch_id

    batches = {b.id: b for b in loaded.campaign.batches}
    notes: dict[str, str] = {}
    for change in plan.changes:
        d = change.delivery
        if change.action == "create" and d is not None and d.at is not None and d.at <= now:
            policy = batches[base_batch_id(d.batch_id)].late or loaded.campaign.late
            effect = {
                "skip": "will be skipped",
                "publish_now": "will publish at once",
                "fail": "publish will fail",
            }
            notes[change.key] = f"late ({policy}): {effect[policy]}"
    return notes


def length_text(change: Change) -> str:
    """The caption's length; a thread's part by part, and the first comment's, on lines of their own."""
    lines = [_length(change.length)] if change.length is not None else []
    parts = len(change.part_lengths) + 1
    lines += [f"({i}/{parts}) {_length(n)}" for i, n in enumerate(change.part_lengths, start=2)]
    if lines and parts > 1:
        lines[0] = f"(1/{parts}) {lines[0]}"
    comment = _first_comment(change)
    if comment is not None and change.delivery is not None:
        lines.append(f"comment {_length(change.delivery.comment_length(comment))}")
    return "\n".join(lines)


def _length(length: CaptionLength | None) -> str:
    return f"{length.length}/{length.limit} {UNITS.get(length.unit, length.unit)}" if length else ""


def _first_comment(change: Change) -> str | None:
    comment = change.delivery.options.get("first_comment") if change.delivery else None
    return comment if isinstance(comment, str) else None


def when_text(change: Change) -> str:
    """The time in UTC, to the minute (what every platform schedules by)."""
    if change.delivery is None:
        at = change.record.scheduled_for if change.record else None
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else ""
    at = change.delivery.at
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else "now"


def media_text(change: Change) -> str:
    if change.delivery is None:
        return ""
    text = ", ".join(m.filename for m in change.delivery.media)
    parts = [", ".join(m.filename for m in p.media) for p in change.delivery.thread]
    if any(parts):  # a thread whose parts carry media: which part has which
        whole = [text, *parts]
        return "\n".join(f"({i}/{len(whole)}) {m}" for i, m in enumerate(whole, start=1) if m)
    return text


def caption_text(change: Change) -> str:
    """The caption; a thread's every part, numbered; the first comment under it."""
    delivery = change.delivery
    if delivery is None:
        return change.record.caption or "" if change.record else ""
    if not delivery.thread and _first_comment(change) is None:
        return delivery.caption
    parts = [delivery.caption, *(p.caption for p in delivery.thread)]
    lines = (
        [f"({i}/{len(parts)}) {text}" for i, text in enumerate(parts, start=1)] if len(parts) > 1 else parts
    )
    if (comment := _first_comment(change)) is not None:
        lines.append(f"first comment: {comment}")
    return "\n".join(lines)


def note_text(change: Change, notes: dict[str, str]) -> str:
    return "; ".join(n for n in (change.reason, change.route, notes.get(change.key, "")) if n)


def summary_text(plan: Plan) -> str:
    counts = plan.counts()
    text = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
    return text + (f"; {len(plan.later)} later (beyond the horizon)" if plan.later else "")


def later_text(plan: Plan) -> str:
    """The occurrences left for later, by batch: `brewing@2030-03-11 … brewing@2030-04-15 (6 × 2 platforms)`."""
    from postdeck.core.keys import DeliveryKey

    batches: dict[str, list[str]] = {}
    for key in plan.later:
        parsed = DeliveryKey.parse(key)
        batches.setdefault(parsed.batch, []).append(parsed.batch_id)
    parts = []
    for ids in batches.values():
        unique = sorted(set(ids))
        span = unique[0] if len(unique) == 1 else f"{unique[0]} … {unique[-1]}"
        parts.append(f"{span} ({len(unique)} occurrences, {len(ids)} deliveries)")
    return (
        "later, as they come within the horizon (the scheduled sync publishes them once the campaign is published): "
        + "; ".join(parts)
    )


def rule_of(change: Change) -> str:
    """An occurrence's repeat rule, e.g. `every 1w, 2 of 3` ("" for a batch that does not repeat)."""
    return change.delivery.repeat if change.delivery else ""


def plan_table(plan: Plan, notes: dict[str, str]) -> Table:
    from rich.table import Table

    table = Table(
        title=f"plan {reviewed_hash(plan)}: {plan.campaign} ({summary_text(plan)})",
        caption=_escape(later_text(plan)) if plan.later else None,
        show_lines=True,
        expand=True,
    )
    table.add_column("action", no_wrap=True)
    table.add_column("batch", ratio=1, overflow="fold")
    table.add_column("platform", no_wrap=True)
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("caption", ratio=4, overflow="fold")
    table.add_column("length", no_wrap=True)
    table.add_column("media", ratio=1, overflow="fold")
    table.add_column("note", ratio=1, overflow="fold")
    for change in plan.changes:
        colour = COLOURS.get(change.action.value, "white")
        length = length_text(change)
        if any(n is not None and not n.fits for n in (change.length, *change.part_lengths)):
            length = f"[red]{length}[/red]"
        table.add_row(
            f"[{colour}]{change.action}[/{colour}]",
            change.batch_id + (f"\n[dim]{_escape(rule)}[/dim]" if (rule := rule_of(change)) else ""),
            change.platform,
            when_text(change),
            _escape(caption_text(change)),
            length,
            _escape(media_text(change)),
            _escape(note_text(change, notes)),
        )
    return table


def reviewed_hash(plan: Plan) -> str:
    """The plan's hash as a reviewer sees it (`publish --expect-plan` takes it)."""
    from postdeck.engine.plan_checks import REVIEWED_HASH_LENGTH, plan_hash

    return plan_hash(plan)[:REVIEWED_HASH_LENGTH]


def plan_markdown(plan: Plan, notes: dict[str, str]) -> str:
    """A pull-request comment: a summary, then one row per delivery."""
    lines = [
        f"### postdeck plan: `{plan.campaign}`",
        "",
        f"**{summary_text(plan)}**",
        "",
        f"Plan `{reviewed_hash(plan)}`: publishing with `expect_plan` set to it applies exactly this plan.",
        "",
        "| action | batch | platform | when (UTC) | caption | length | media | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for change in plan.changes:
        rule = rule_of(change)
        cells = (
            f"**{change.action}**",
            f"`{change.batch_id}`" + (f" ({rule})" if rule else ""),
            change.platform,
            when_text(change),
            caption_text(change),
            length_text(change),
            media_text(change),
            note_text(change, notes),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if plan.later:
        lines += ["", _cell(later_text(plan))]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Markdown table cells: no pipes, no raw line breaks, no HTML."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
