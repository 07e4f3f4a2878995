"""`postdeck automations`: notify people when a publish-campaign run fails or crashes."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.errors import PostdeckError


@app.command()
def automations(
    webhook_url: Annotated[
        str | None, typer.Option(help="POST a JSON {subject, text} to this URL on each failed run.")
    ] = None,
    slack_webhook_url: Annotated[
        str | None, typer.Option(help="Post to this Slack incoming-webhook URL instead.")
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(help="Send through a notification block saved beforehand: `block-type-slug/name`."),
    ] = None,
) -> None:
    """Create the automation on the Prefect server (PREFECT_API_URL) that sends a notification when a
    publish-campaign run ends Failed or Crashed. Give exactly one of the three destinations.

    Example: postdeck automations --slack-webhook-url https://hooks.slack.com/services/…
    """
    given = [v for v in (webhook_url, slack_webhook_url, block) if v]
    if len(given) != 1:
        raise PostdeckError("give exactly one of --webhook-url, --slack-webhook-url or --block")
    from postdeck.flows.automations import ensure_failure_notification, saved_block, webhook_block

    if block:
        block_id = saved_block(block)
    else:
        block_id = webhook_block(webhook_url or slack_webhook_url or "", slack=bool(slack_webhook_url))
    made = ensure_failure_notification(block_id)
    common.console.print(
        f"automation '{made.name}' ({made.id}): notifies on Failed or Crashed publish-campaign runs"
    )
