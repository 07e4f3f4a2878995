"""The `postdeck` command line. Thin: parse, call the same functions the flows call, print with rich.

Heavy imports (Prefect, provider clients) happen inside the commands that need them, so that
`validate` and `plan` start fast enough for a pre-commit hook.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from postdeck.errors import PostdeckError

app = typer.Typer(
    name="postdeck",
    help="Social-media campaigns as code: validate, plan and publish campaign YAML files.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

CampaignArg = Annotated[Path, typer.Argument(help="A campaign YAML file, e.g. campaigns/example.yaml.")]


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="Campaign files or folders.")]) -> None:
    """Check campaign files; every problem is reported with file:line:column.

    Example: postdeck validate campaigns/
    """
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    files = _campaign_files(paths)
    failed = 0
    for file in files:
        try:
            expand(load_campaign(file))
        except PostdeckError as exc:
            failed += 1
            err_console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
    console.print(f"[green]{len(files)} campaign file(s) valid[/green]")


@app.command()
def plan(campaign: CampaignArg) -> None:
    """Show what publishing would create, update, cancel or leave alone.

    Example: postdeck plan campaigns/example.yaml
    """
    from datetime import UTC, datetime

    from postdeck.ledger.sqlite import SqliteLedger
    from postdeck.plan import make_plan
    from postdeck.schemas.deliveries import expand
    from postdeck.schemas.loader import load_campaign

    loaded = load_campaign(campaign)
    deliveries = expand(loaded)
    result = make_plan(loaded.campaign.name, deliveries, SqliteLedger(), datetime.now(UTC))
    table = Table(title=f"plan: {loaded.campaign.name}")
    for column in ("action", "batch", "platform", "when", "caption", "note"):
        table.add_column(column, overflow="fold")
    for change in result.changes:
        d = change.delivery
        table.add_row(
            str(change.action),
            d.batch_id if d else (change.record.batch_id if change.record else ""),
            d.platform.value if d else (change.record.platform if change.record else ""),
            (d.at.isoformat() if d and d.at else "now") if d else "",
            d.caption if d else "",
            change.reason,
        )
    console.print(table)


@app.command()
def publish(
    campaign: CampaignArg,
    sandbox: Annotated[
        bool, typer.Option(help="Publish to the local simulators, not the real providers.")
    ] = False,
) -> None:
    """Publish a campaign through the publish-campaign flow (on PREFECT_API_URL if set, else locally).

    Example: postdeck publish campaigns/example.yaml --sandbox
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from postdeck.flows.publish import publish_campaign

    reports = publish_campaign(campaign=str(campaign), sandbox=sandbox)
    _print_reports(reports)
    if any(r["status"] in ("failed", "unknown") or r["action"] == "not-sent" for r in reports):
        raise typer.Exit(1)


@app.command()
def sandbox(
    postforme_port: Annotated[int, typer.Option(help="Port of the PostForMe simulator.")] = 8701,
    late_port: Annotated[int, typer.Option(help="Port of the LATE simulator.")] = 8702,
) -> None:
    """Run both provider simulators on 127.0.0.1 in the foreground (Ctrl-C stops them).

    Example: postdeck sandbox --postforme-port 8701 --late-port 8702
    """
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    box = start_sandbox(postforme_port=postforme_port, late_port=late_port)
    console.print(f"POSTFORME_BASE_URL={box.postforme_url}  POSTFORME_API_KEY={SANDBOX_POSTFORME_KEY}")
    console.print(f"LATE_BASE_URL={box.late_url}  LATE_API_KEY={SANDBOX_LATE_KEY}")
    console.print("simulators running; Ctrl-C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()


def _print_reports(reports: list[dict]) -> None:
    table = Table(title="deliveries")
    for column in ("batch", "platform", "action", "status", "provider", "url / error"):
        table.add_column(column, overflow="fold")
    colours = {"posted": "green", "scheduled": "cyan", "failed": "red", "unknown": "yellow"}
    for r in reports:
        colour = colours.get(r["status"], "white")
        table.add_row(
            r["batch_id"],
            r["platform"],
            r["action"],
            f"[{colour}]{r['status']}[/{colour}]",
            r.get("provider") or "",
            r.get("url") or r.get("error") or "",
        )
    console.print(table)


def _campaign_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*.y*ml")
                    if p.suffix in (".yaml", ".yml") and "templates" not in p.parts
                )
            )
        else:
            files.append(path)
    return files


def main() -> None:
    """Entry point: one red line for a PostdeckError, the traceback only with POSTDECK_DEBUG=1."""
    try:
        app(standalone_mode=False)
    except PostdeckError as exc:
        if os.environ.get("POSTDECK_DEBUG") == "1":
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
