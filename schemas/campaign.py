"""The campaign file: pydantic models, strict (unknown keys are errors), with the nine platforms."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from postdeck.providers.base import Platform

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Lowercase letters, digits and dashes: safe in keys, URLs and Prefect names."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Values a batch inherits when it does not set its own."""

    platforms: list[Platform] = Field(default_factory=list, description="Platforms every batch posts to.")


class Batch(_Strict):
    """One post of the calendar, sent to each of its platforms."""

    id: Slug = Field(description="Stable id, unique in the file: the ledger keys deliveries by it.")
    at: datetime | None = Field(
        default=None,
        description="When to publish. Naive times are in the campaign's timezone. None means now.",
    )
    caption: str = Field(min_length=1, description="A Jinja template (sandboxed).")
    media: list[str] = Field(
        default_factory=list, description="Paths relative to the campaign file, or https URLs."
    )
    platforms: list[Platform] | None = Field(default=None, description="Overrides defaults.platforms.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Template variables of this batch.")

    @field_validator("at", mode="before")
    @classmethod
    def _date_only_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time())
        return value


class Campaign(_Strict):
    """A campaign: a calendar of batches published to social platforms."""

    name: Slug = Field(description="The campaign's name; with batch ids it keys the ledger.")
    timezone: str = Field(default="UTC", description="IANA timezone for naive times, e.g. Europe/Berlin.")
    owner: str | None = Field(default=None, description="User whose stored provider keys are used.")
    defaults: Defaults = Field(default_factory=Defaults)
    vars: dict[str, Any] = Field(default_factory=dict, description="Template variables of every batch.")
    batches: list[Batch] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}' (use an IANA name like Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _unique_batch_ids_and_platforms(self) -> Campaign:
        seen: set[str] = set()
        for index, batch in enumerate(self.batches):
            if batch.id in seen:
                raise _IndexedError(("batches", index, "id"), f"duplicate batch id '{batch.id}'")
            seen.add(batch.id)
            if not (batch.platforms if batch.platforms is not None else self.defaults.platforms):
                raise _IndexedError(
                    ("batches", index, "platforms"),
                    "no platforms: set batch platforms or defaults.platforms",
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def platforms_of(self, batch: Batch) -> list[Platform]:
        return list(batch.platforms if batch.platforms is not None else self.defaults.platforms)


class _IndexedError(ValueError):
    """A model-level error that knows which field it is about (mapped to a line by the loader)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        super().__init__(message)
