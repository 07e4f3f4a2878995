"""The publish-campaign parameters: one pydantic model, so the Prefect UI shows a form.

Credentials are never parameters (Prefect stores parameters in clear text): keys come from the
worker's environment, a campaign owner's stored keys, or Prefect Secret blocks named here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PublishParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign: str = Field(
        default="campaigns/example.yaml",
        description="Campaign file, relative to the checkout (or to `ref`'s tree).",
    )
    ref: str | None = Field(
        default=None,
        description="Git ref (branch, tag, commit) to read the campaign from; empty means the working tree.",
    )
    batches: list[str] | None = Field(default=None, description="Only these batch ids; empty means all.")
    dry_run: bool = Field(default=False, description="Render, plan and report without sending anything.")
    sandbox: bool = Field(
        default=False, description="Publish to the local simulators instead of the providers."
    )
    allow_dirty: bool = Field(
        default=False,
        description="Publish a working tree whose campaign files differ from HEAD (the run says `dirty`).",
    )
    allow_repost: bool = Field(
        default=False, description="Publish again deliveries whose content changed after they were posted."
    )
    plan: str | None = Field(
        default=None, description="A saved plan (postdeck plan --out); refused if the ledger moved since."
    )
    expect_plan: str | None = Field(
        default=None,
        description="The hash of the reviewed plan (`postdeck plan` shows it; 12+ hex digits): refused, "
        "nothing sent, unless this run's plan is that plan.",
    )
    secret_blocks: dict[str, str] = Field(
        default_factory=dict,
        description="Prefect Secret block names holding provider keys, e.g. {'postforme': 'postforme-key'}.",
    )
