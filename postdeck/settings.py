"""Every environment variable postdeck reads, in one place: names, defaults, bounds, descriptions.

postdeck's own variables carry the POSTDECK_ prefix; the providers' and Supabase's keep the names
their documentation uses (POSTFORME_API_KEY, SUPABASE_URL, ...), as aliases. `settings()` builds the
object afresh on every call from os.environ (or the mapping given, as tests and callers that add
keys do): it is cheap, and a variable changed between two calls is seen by the second.

An empty (or blank) value counts as unset, as it always has. A value out of bounds is refused with
a SettingsError naming the variable, its value, and what is expected. `postdeck config` prints them.

The fields live in groups (settings_local.py: the CLI, files, limits, the simulators;
settings_services.py: the providers and Supabase), gathered here into the one Settings object.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from postdeck.errors import PostdeckError
from postdeck.settings_local import CliSettings, LimitSettings, PathSettings, SimulatorSettings
from postdeck.settings_services import ProviderSettings, SupabaseSettings

if TYPE_CHECKING:
    from postdeck.schemas.file_limits import FileLimits

PREFIX = "POSTDECK_"


class SettingsError(PostdeckError):
    """An environment variable holds a value postdeck cannot use."""


# pydantic lists inherited fields from the last base to the first: the groups are named in reverse so
# that `postdeck config` shows them in the order below (the CLI first, Supabase last).
class Settings(
    SupabaseSettings,
    ProviderSettings,
    SimulatorSettings,
    LimitSettings,
    PathSettings,
    CliSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, case_sensitive=True, env_ignore_empty=True, extra="ignore"
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
        # BaseSettings.__init__ takes _build_sources; mypy sees only the fields' __init__ (dataclass_transform).
        return Settings(_build_sources=((_MappingSource(Settings, env),), {}))  # type: ignore[call-arg]
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
