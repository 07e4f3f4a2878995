"""A Prefect automation that tells people when a `publish-campaign` run fails or crashes.

A run ends Failed whenever a delivery is left unresolved (engine/verdict.py), so this one automation
covers refused posts, unknown outcomes and crashes alike. The notification goes through a Prefect
notification block: a custom webhook (JSON POST of subject and body), a Slack webhook, or any block
saved beforehand (e-mail with prefect-email's block, Teams, PagerDuty, …). Run `postdeck automations`
again to change it: the automation and the block it made are replaced, not duplicated.
"""

from __future__ import annotations

from contextlib import suppress
from uuid import UUID

from prefect.automations import Automation
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from postdeck.flows.dispatch import synchronous

AUTOMATION_NAME = "postdeck: publish-campaign failed"
BLOCK_NAME = "postdeck-publish-failed"
FLOW_NAME = "publish-campaign"

SUBJECT = "postdeck: {{ flow_run.name }} is {{ flow_run.state.name }}"
BODY = (
    "Flow run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}: "
    "{{ flow_run.state.message }}"
)


def failure_trigger() -> EventTrigger:
    """Any run of the publish-campaign flow entering Failed or Crashed, one notification per run."""
    return EventTrigger(
        expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAME},
        posture=Posture.Reactive,
        threshold=1,
        within=0,
    )


def webhook_block(url: str, *, slack: bool = False) -> UUID:
    """Save (or replace) the notification block the automation sends through; its document id."""
    block: Block
    if slack:
        block = SlackWebhook(url=url)
    else:
        block = CustomWebhookNotificationBlock(
            name=BLOCK_NAME, url=url, json_data={"subject": "{{subject}}", "text": "{{body}}"}
        )
    return synchronous(block.save(BLOCK_NAME, overwrite=True))


def saved_block(reference: str) -> UUID:
    """The document id of a notification block saved beforehand, as `block-type-slug/name`."""
    block = synchronous(Block.load(reference))
    if block._block_document_id is None:  # pragma: no cover - a loaded block always has one
        raise ValueError(f"block {reference} has no document id")
    return block._block_document_id


def ensure_failure_notification(block_document_id: UUID) -> Automation:
    """Create the automation, replacing an earlier one of the same name."""
    with suppress(ValueError):  # none yet
        synchronous(Automation.read(name=AUTOMATION_NAME)).delete()
    automation = Automation(
        name=AUTOMATION_NAME,
        description="Notify when a publish-campaign run fails (a delivery unresolved) or crashes.",
        trigger=failure_trigger(),
        actions=[SendNotification(block_document_id=block_document_id, subject=SUBJECT, body=BODY)],
    )
    return synchronous(automation.create())
