"""`postdeck plan`: what publishing would create, update, cancel or leave alone."""

from __future__ import annotations

from rich.table import Table

from postdeck.commands.common import CampaignArg, app, console


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
