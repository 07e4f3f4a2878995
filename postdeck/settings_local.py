"""The settings of this machine, in groups that postdeck.settings.Settings gathers into one object:
the CLI's behaviour, where files are, limits, and the simulators already running. Each field names
its environment variable (POSTDECK_…), default, bounds and description; how a value is read (blank
is unset, "1" is on) is Settings' own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, BaseModel, Field

if TYPE_CHECKING:
    from pydantic.config import JsonDict


def env_name(name: str) -> Any:
    """A variable read under this name (a provider's or Supabase's too), not POSTDECK_<field>."""
    return AliasChoices(name)


def expects(text: str) -> JsonDict:
    """What a refused value is told it should be (the message keeps the variable and its value)."""
    return {"expected": text}


class CliSettings(BaseModel):
    """The CLI's behaviour."""

    debug: bool = Field(
        False,
        validation_alias=env_name("POSTDECK_DEBUG"),
        description=("1: a PostdeckError shows its traceback instead of one red line"),
    )
    no_progress: bool = Field(
        False,
        validation_alias=env_name("POSTDECK_NO_PROGRESS"),
        description=("1: no spinners or progress bars, even on a terminal"),
    )
    force_color: bool = Field(
        False,
        validation_alias=env_name("FORCE_COLOR"),
        description=("any value: colours even when not writing to a terminal (rich honours it too)"),
    )


class PathSettings(BaseModel):
    """Where files are, and which commits and rate budgets a publish uses."""

    ledger: Path = Field(
        Path(".postdeck/ledger.db"),
        validation_alias=env_name("POSTDECK_LEDGER"),
        description=("the local SQLite ledger (used when Supabase is not configured)"),
    )
    journal: Path = Field(
        Path(".postdeck/journal.jsonl"),
        validation_alias=env_name("POSTDECK_JOURNAL"),
        description=("the outcome journal: outcomes the ledger could not take yet, replayed later"),
    )
    server_dir: Path = Field(
        Path(".postdeck/server"),
        validation_alias=env_name("POSTDECK_SERVER_DIR"),
        description=("where the local Prefect server that `postdeck publish` starts keeps its state"),
    )
    rate_dir: Path | None = Field(
        None,
        validation_alias=env_name("POSTDECK_RATE_DIR"),
        description=(
            "where the processes of this machine share each provider key's rate budget "
            "(unset: rates/ beside the ledger, .postdeck/rates)"
        ),
    )
    rate_per_process: bool = Field(
        False,
        validation_alias=env_name("POSTDECK_RATE_PER_PROCESS"),
        description=("1: each process paces a provider key by itself, sharing no rate budget"),
    )
    require_ref: bool = Field(
        False,
        validation_alias=env_name("POSTDECK_REQUIRE_REF"),
        description=("1: a publish must name a git ref (set on the production deployment)"),
    )
    require_branch: str | None = Field(
        None,
        validation_alias=env_name("POSTDECK_REQUIRE_BRANCH"),
        description=("only commits on this branch are published (git merge-base --is-ancestor)"),
    )
    styles: Path = Field(
        Path("styles.yaml"),
        validation_alias=env_name("POSTDECK_STYLES"),
        description=("the styles file of the seed API"),
    )
    posts_dir: Path = Field(
        Path(".postdeck/posts"),
        validation_alias=env_name("POSTDECK_POSTS_DIR"),
        description=("where the seed API keeps the campaigns of ad-hoc posts"),
    )
    campaigns_dir: Path = Field(
        Path("campaigns"),
        validation_alias=env_name("POSTDECK_CAMPAIGNS_DIR"),
        description=("where the seed API writes campaign batches"),
    )
    sandbox_dir: Path = Field(
        Path(".postdeck/sandbox"),
        validation_alias=env_name("POSTDECK_SANDBOX_DIR"),
        description=("the simulators' state of `postdeck sandbox`"),
    )
    runs_dir: Path = Field(
        Path(".postdeck/runs"),
        validation_alias=env_name("POSTDECK_RUNS_DIR"),
        description=("where each publish-campaign run writes its preview site (<flow run id>/preview/)"),
    )
    runs_kept: int = Field(
        200,
        ge=0,
        validation_alias=env_name("POSTDECK_RUNS_KEPT"),
        description="how many runs' folders under runs_dir are kept: older ones go after each run (0: all)",
    )


class LimitSettings(BaseModel):
    """Limits: how long things are reused or waited for, how much runs at once, how big a file may be."""

    account_list_max_age: float = Field(
        900.0,
        ge=0,
        le=86400,
        allow_inf_nan=False,
        validation_alias=env_name("POSTDECK_ACCOUNT_LIST_MAX_AGE"),
        description="seconds a provider's account list is reused for (0: listed on every run; at most a day)",
        json_schema_extra=expects(
            "the seconds (0 to 86400) an account list may be reused for, e.g. 900; 0 lists the accounts on every run"
        ),
    )
    not_sent_after: float = Field(
        900.0,
        ge=0,
        le=7 * 86400,
        allow_inf_nan=False,
        validation_alias=env_name("POSTDECK_NOT_SENT_AFTER"),
        description=(
            "seconds an unknown delivery must be found at no provider (by its post key) before it is "
            "not-sent and published again (at least LATE's 5-minute x-request-id window)"
        ),
        json_schema_extra=expects("the seconds (0 to 604800) of the providers' idempotency window, e.g. 900"),
    )
    claim_heartbeat_timeout: float = Field(
        60.0,
        gt=0,
        le=900,
        allow_inf_nan=False,
        validation_alias=env_name("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT"),
        description=(
            "seconds a run's claims stay held after its last heartbeat; a dead run's are then taken over"
        ),
        json_schema_extra=expects(
            "the seconds (above 0, at most 900) a claim outlives its run's heartbeat, e.g. 60"
        ),
    )
    provider_concurrency: int = Field(
        16,
        ge=1,
        validation_alias=env_name("POSTDECK_PROVIDER_CONCURRENCY"),
        description="provider calls in flight per provider from one process (and task workers)",
        json_schema_extra=expects("a whole number of at least 1"),
    )
    campaign_max_bytes: int = Field(
        5_000_000,
        ge=1,
        validation_alias=env_name("POSTDECK_CAMPAIGN_MAX_BYTES"),
        description="the largest campaign file read, in bytes (checked before it is read)",
        json_schema_extra=expects("a whole number of bytes of at least 1, e.g. 5000000"),
    )
    campaign_max_batches: int = Field(
        20_000,
        ge=1,
        validation_alias=env_name("POSTDECK_CAMPAIGN_MAX_BATCHES"),
        description="the most batches one campaign file may have (checked before it is parsed)",
        json_schema_extra=expects("a whole number of at least 1, e.g. 20000"),
    )
    census_max_posts: int = Field(
        5000,
        ge=1,
        validation_alias=env_name("POSTDECK_CENSUS_MAX_POSTS"),
        description=(
            "the most posts read from each provider's list when a campaign's first publish into a "
            "ledger (or `ledger rebuild --from-providers`) searches it for the campaign's post keys"
        ),
        json_schema_extra=expects("a whole number of posts of at least 1, e.g. 5000"),
    )
    sandbox_rate_scale: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        validation_alias=env_name("POSTDECK_SANDBOX_RATE_SCALE"),
        description="sandbox clients pace to the documented rate limits with every window ÷ this (unset: none)",
        json_schema_extra=expects(
            "a number above 0 that divides the documented rate-limit windows "
            "(e.g. 10: PostForMe's 40 a minute becomes 40 per 6 s; 1: the real limits)"
        ),
    )


class SimulatorSettings(BaseModel):
    """The simulators already running, for --sandbox."""

    sandbox_postforme_url: str | None = Field(
        None,
        validation_alias=env_name("POSTDECK_SANDBOX_POSTFORME_URL"),
        description=(
            "a running PostForMe simulator for --sandbox (with the LATE one; else --sandbox embeds its own)"
        ),
    )
    sandbox_late_url: str | None = Field(
        None,
        validation_alias=env_name("POSTDECK_SANDBOX_LATE_URL"),
        description=("a running LATE simulator for --sandbox (with the PostForMe one)"),
    )
