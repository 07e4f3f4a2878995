"""Every environment variable postdeck reads, in one place: names, defaults, bounds, descriptions.

postdeck's own variables carry the POSTDECK_ prefix; the providers' and Supabase's keep the names
their documentation uses (POSTFORME_API_KEY, SUPABASE_URL, ...), as aliases. `settings()` builds the
object afresh on every call from os.environ (or the mapping given, as tests and callers that add
keys do): it is cheap, and a variable changed between two calls is seen by the second.

An empty (or blank) value counts as unset, as it always has. A value out of bounds is refused with
a SettingsError naming the variable, its value, and what is expected. `postdeck config` prints them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from postdeck.errors import PostdeckError

if TYPE_CHECKING:
    from postdeck.schemas.file_limits import FileLimits

PREFIX = "POSTDECK_"


class SettingsError(PostdeckError):
    """An environment variable holds a value postdeck cannot use."""


def _alias(name: str) -> Any:
    """A variable read under its own name (a provider's or Supabase's), not POSTDECK_<field>."""
    return AliasChoices(name)


def _expects(text: str) -> dict[str, str]:
    """What a refused value is told it should be (the message keeps the variable and its value)."""
    return {"expected": text}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, case_sensitive=True, env_ignore_empty=True, extra="ignore"
    )

    # --- the CLI's behaviour -------------------------------------------------------------------
    debug: bool = Field(
        False,
        validation_alias=_alias("POSTDECK_DEBUG"),
        description=("1: a PostdeckError shows its traceback instead of one red line"),
    )
    no_progress: bool = Field(
        False,
        validation_alias=_alias("POSTDECK_NO_PROGRESS"),
        description=("1: no spinners or progress bars, even on a terminal"),
    )
    force_color: bool = Field(
        False,
        validation_alias=_alias("FORCE_COLOR"),
        description=("any value: colours even when not writing to a terminal (rich honours it too)"),
    )

    # --- where files are --------------------------------------------------------------------------
    ledger: Path = Field(
        Path(".postdeck/ledger.db"),
        validation_alias=_alias("POSTDECK_LEDGER"),
        description=("the local SQLite ledger (used when Supabase is not configured)"),
    )
    journal: Path = Field(
        Path(".postdeck/journal.jsonl"),
        validation_alias=_alias("POSTDECK_JOURNAL"),
        description=("the outcome journal: outcomes the ledger could not take yet, replayed later"),
    )
    server_dir: Path = Field(
        Path(".postdeck/server"),
        validation_alias=_alias("POSTDECK_SERVER_DIR"),
        description=("where the local Prefect server that `postdeck publish` starts keeps its state"),
    )
    rate_dir: Path | None = Field(
        None,
        validation_alias=_alias("POSTDECK_RATE_DIR"),
        description=(
            "where the processes of this machine share each provider key's rate budget "
            "(unset: rates/ beside the ledger, .postdeck/rates)"
        ),
    )
    rate_per_process: bool = Field(
        False,
        validation_alias=_alias("POSTDECK_RATE_PER_PROCESS"),
        description=("1: each process paces a provider key by itself, sharing no rate budget"),
    )
    require_ref: bool = Field(
        False,
        validation_alias=_alias("POSTDECK_REQUIRE_REF"),
        description=("1: a publish must name a git ref (set on the production deployment)"),
    )
    require_branch: str | None = Field(
        None,
        validation_alias=_alias("POSTDECK_REQUIRE_BRANCH"),
        description=("only commits on this branch are published (git merge-base --is-ancestor)"),
    )
    styles: Path = Field(
        Path("styles.yaml"),
        validation_alias=_alias("POSTDECK_STYLES"),
        description=("the styles file of the seed API"),
    )
    posts_dir: Path = Field(
        Path(".postdeck/posts"),
        validation_alias=_alias("POSTDECK_POSTS_DIR"),
        description=("where the seed API keeps the campaigns of ad-hoc posts"),
    )
    campaigns_dir: Path = Field(
        Path("campaigns"),
        validation_alias=_alias("POSTDECK_CAMPAIGNS_DIR"),
        description=("where the seed API writes campaign batches"),
    )
    sandbox_dir: Path = Field(
        Path(".postdeck/sandbox"),
        validation_alias=_alias("POSTDECK_SANDBOX_DIR"),
        description=("the simulators' state of `postdeck sandbox`"),
    )
    runs_dir: Path = Field(
        Path(".postdeck/runs"),
        validation_alias=_alias("POSTDECK_RUNS_DIR"),
        description=("where each publish-campaign run writes its preview site (<flow run id>/preview/)"),
    )

    # --- limits ---------------------------------------------------------------------------------
    account_list_max_age: float = Field(
        900.0,
        ge=0,
        le=86400,
        allow_inf_nan=False,
        validation_alias=_alias("POSTDECK_ACCOUNT_LIST_MAX_AGE"),
        description="seconds a provider's account list is reused for (0: listed on every run; at most a day)",
        json_schema_extra=_expects(
            "the seconds (0 to 86400) an account list may be reused for, e.g. 900; 0 lists the accounts on every run"
        ),
    )
    not_sent_after: float = Field(
        900.0,
        ge=0,
        le=7 * 86400,
        allow_inf_nan=False,
        validation_alias=_alias("POSTDECK_NOT_SENT_AFTER"),
        description=(
            "seconds an unknown delivery must be found at no provider (by its post key) before it is "
            "not-sent and published again (at least LATE's 5-minute x-request-id window)"
        ),
        json_schema_extra=_expects(
            "the seconds (0 to 604800) of the providers' idempotency window, e.g. 900"
        ),
    )
    claim_heartbeat_timeout: float = Field(
        60.0,
        gt=0,
        le=900,
        allow_inf_nan=False,
        validation_alias=_alias("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT"),
        description=(
            "seconds a run's claims stay held after its last heartbeat; a dead run's are then taken over"
        ),
        json_schema_extra=_expects(
            "the seconds (above 0, at most 900) a claim outlives its run's heartbeat, e.g. 60"
        ),
    )
    provider_concurrency: int = Field(
        16,
        ge=1,
        validation_alias=_alias("POSTDECK_PROVIDER_CONCURRENCY"),
        description="provider calls in flight per provider from one process (and task workers)",
        json_schema_extra=_expects("a whole number of at least 1"),
    )
    campaign_max_bytes: int = Field(
        5_000_000,
        ge=1,
        validation_alias=_alias("POSTDECK_CAMPAIGN_MAX_BYTES"),
        description="the largest campaign file read, in bytes (checked before it is read)",
        json_schema_extra=_expects("a whole number of bytes of at least 1, e.g. 5000000"),
    )
    campaign_max_batches: int = Field(
        20_000,
        ge=1,
        validation_alias=_alias("POSTDECK_CAMPAIGN_MAX_BATCHES"),
        description="the most batches one campaign file may have (checked before it is parsed)",
        json_schema_extra=_expects("a whole number of at least 1, e.g. 20000"),
    )
    census_max_posts: int = Field(
        5000,
        ge=1,
        validation_alias=_alias("POSTDECK_CENSUS_MAX_POSTS"),
        description=(
            "the most posts read from each provider's list when a campaign's first publish into a "
            "ledger (or `ledger rebuild --from-providers`) searches it for the campaign's post keys"
        ),
        json_schema_extra=_expects("a whole number of posts of at least 1, e.g. 5000"),
    )
    sandbox_rate_scale: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        validation_alias=_alias("POSTDECK_SANDBOX_RATE_SCALE"),
        description="sandbox clients pace to the documented rate limits with every window ÷ this (unset: none)",
        json_schema_extra=_expects(
            "a number above 0 that divides the documented rate-limit windows "
            "(e.g. 10: PostForMe's 40 a minute becomes 40 per 6 s; 1: the real limits)"
        ),
    )

    # --- the simulators already running -----------------------------------------------------------
    sandbox_postforme_url: str | None = Field(
        None,
        validation_alias=_alias("POSTDECK_SANDBOX_POSTFORME_URL"),
        description=(
            "a running PostForMe simulator for --sandbox (with the LATE one; else --sandbox embeds its own)"
        ),
    )
    sandbox_late_url: str | None = Field(
        None,
        validation_alias=_alias("POSTDECK_SANDBOX_LATE_URL"),
        description=("a running LATE simulator for --sandbox (with the PostForMe one)"),
    )

    # --- the providers and Supabase, under their own names ----------------------------------------
    postforme_api_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("POSTFORME_API_KEY"),
        description=("the global PostForMe key (after the owner's stored keys in the failover chain)"),
    )
    late_api_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("LATE_API_KEY"),
        description=("the global LATE key (last in the failover chain)"),
    )
    postforme_base_url: str | None = Field(
        None,
        validation_alias=_alias("POSTFORME_BASE_URL"),
        description=("PostForMe's API address (unset: the real one)"),
    )
    late_base_url: str | None = Field(
        None,
        validation_alias=_alias("LATE_BASE_URL"),
        description=("LATE's API address (unset: the real one)"),
    )
    postforme_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=_alias("POSTFORME_WEBHOOK_SECRET"),
        description=("checked against PostForMe's webhook header (unset: its webhooks are refused)"),
    )
    late_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=_alias("LATE_WEBHOOK_SECRET"),
        description=("the HMAC key of LATE's webhook signatures (unset: its webhooks are refused)"),
    )
    encryption_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("ENCRYPTION_KEY"),
        description=(
            "Fernet keys (comma-separated, newest first) encrypting the users' stored provider keys"
        ),
    )
    supabase_url: str | None = Field(
        None,
        validation_alias=_alias("SUPABASE_URL"),
        description=("the Supabase project of the ledger (with a secret key or the plan token; else SQLite)"),
    )
    supabase_secret_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("SUPABASE_SECRET_KEY"),
        description=("Supabase's secret key (sb_secret_…): publishing, sync, the API (sent as apikey only)"),
    )
    supabase_service_role_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("SUPABASE_SERVICE_ROLE_KEY"),
        description=(
            "Supabase's legacy JWT service-role key (deprecated: Supabase retires the legacy keys; "
            "SUPABASE_SECRET_KEY wins when both are set)"
        ),
    )
    supabase_publishable_key: SecretStr | None = Field(
        None,
        validation_alias=_alias("SUPABASE_PUBLISHABLE_KEY"),
        description=(
            "Supabase's publishable key (sb_publishable_…, or the legacy anon key): the read-only plan path's apikey"
        ),
    )
    supabase_plan_token: SecretStr | None = Field(
        None,
        validation_alias=_alias("SUPABASE_PLAN_TOKEN"),
        description=(
            "a JWT with role postdeck_planner: `postdeck plan` reads deliveries with it, nothing can write"
        ),
    )
    supabase_jwt_secret: SecretStr | None = Field(
        None,
        validation_alias=_alias("SUPABASE_JWT_SECRET"),
        description=(
            "the project's JWT secret, only to mint SUPABASE_PLAN_TOKEN (python -m postdeck.ledger.plan_token)"
        ),
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()
        return value

    @field_validator(
        "account_list_max_age",
        "provider_concurrency",
        "sandbox_rate_scale",
        "not_sent_after",
        "claim_heartbeat_timeout",
        mode="before",
    )
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value  # " 4 " was always read as 4

    @field_validator("debug", "no_progress", "require_ref", "rate_per_process", mode="before")
    @classmethod
    def _only_one_is_on(cls, value: Any) -> Any:
        return value == "1" if isinstance(value, str) else value  # as ever: "1" on, anything else off

    @field_validator("force_color", mode="before")
    @classmethod
    def _any_value_is_on(cls, value: Any) -> Any:
        return bool(value) if isinstance(value, str) else value

    @field_validator("provider_concurrency", "census_max_posts", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("not a whole number")  # "2.5" and "1e3" are not counts
        return value

    @field_validator("account_list_max_age", "sandbox_rate_scale", mode="after")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the environment (or the mapping given): no .env file, no secrets directory.
        return (init_settings,)

    def rate_folder(self) -> Path | None:
        """Where provider keys' rate budgets are shared, or None when each process keeps its own."""
        if self.rate_per_process:
            return None
        return self.rate_dir if self.rate_dir is not None else self.ledger.parent / "rates"

    def get(self, variable: str) -> str | None:
        """The value read from `variable` (e.g. "POSTFORME_API_KEY"), a secret revealed, None when unset:
        for code that names its variables (a provider client's key_env)."""
        value = getattr(self, field_for(variable))
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return None if value is None else str(value)


def variable_of(field: str) -> str:
    """The environment variable a field is read from."""
    alias = Settings.model_fields[field].validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else PREFIX + field.upper()  # type: ignore[return-value]


def field_for(variable: str) -> str:
    for field in Settings.model_fields:
        if variable_of(field) == variable:
            return field
    raise KeyError(f"{variable} is not a postdeck setting")


class _MappingSource(EnvSettingsSource):
    """The environment source over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._given)  # case-sensitive names; blank values are dropped by _blank_is_unset


def file_limits(config: Settings | None = None) -> FileLimits:
    """The size limits of campaign files, for the schemas' loaders (which take them as arguments)."""
    from postdeck.schemas.file_limits import FileLimits

    config = config or settings()
    return FileLimits(max_bytes=config.campaign_max_bytes, max_batches=config.campaign_max_batches)


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of os.environ now (or of `environ`); a SettingsError names every bad variable."""
    env = os.environ if environ is None else environ
    try:
        return Settings(_build_sources=((_MappingSource(Settings, env),), {}))
    except ValidationError as exc:
        raise SettingsError("\n".join(_problem(error, env) for error in exc.errors())) from None


def _problem(error: Any, environ: Mapping[str, str]) -> str:
    variable = str(error["loc"][0]) if error.get("loc") else "?"
    field = field_for(variable) if variable in _VARIABLES else None
    extra = Settings.model_fields[field].json_schema_extra if field else None
    expected = extra.get("expected") if isinstance(extra, dict) else None
    return f"{variable}={environ.get(variable, '')!r}: expected {expected or error['msg']}"


_VARIABLES = {variable_of(field) for field in Settings.model_fields}


def debug_enabled() -> bool:
    """POSTDECK_DEBUG=1, even when another variable is bad: the CLI asks while reporting that error."""
    try:
        return settings().debug
    except SettingsError:
        return os.environ.get("POSTDECK_DEBUG", "").strip() == "1"


def report(environ: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Every setting as `postdeck config` shows it: variable, effective value (a secret masked: its
    first characters and length, never the value), source ("environment" or "default"), description."""
    env = os.environ if environ is None else environ
    current = settings(env)
    rows = []
    for field, info in Settings.model_fields.items():
        variable = variable_of(field)
        value = getattr(current, field)
        rows.append(
            {
                "variable": variable,
                "value": _shown(value),
                "source": "environment" if env.get(variable, "").strip() else "default",
                "description": info.description or "",
            }
        )
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        # A prefix tells keys apart (sb_s…, pfm_…) and is too short to matter; short secrets show none.
        return f"{secret[:4]}…({len(secret)} chars)" if len(secret) >= 16 else f"set ({len(secret)} chars)"
    if value is None:
        return "unset"
    return str(value)
