"""Read a campaign file into a validated Campaign, turning every problem into a located CampaignError."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.campaign import Campaign, _IndexedError
from postdeck.schemas.source import SourceDocument, dotted, load_yaml_with_locations


@dataclass(frozen=True)
class LoadedCampaign:
    campaign: Campaign
    path: Path  # the campaign file
    source: SourceDocument

    @property
    def folder(self) -> Path:
        return self.path.parent


def load_campaign(path: str | Path) -> LoadedCampaign:
    """Load and validate one campaign file. Raises CampaignErrors listing every problem found."""
    path = Path(path)
    source = load_yaml_with_locations(path)
    if not isinstance(source.data, dict):
        raise CampaignError(
            "a campaign file must be a mapping (name:, timezone:, batches:, ...)",
            location=source.location(()),
        )
    try:
        campaign = Campaign.model_validate(source.data)
    except ValidationError as exc:
        raise CampaignErrors(_located_errors(exc, source)) from None
    return LoadedCampaign(campaign=campaign, path=path, source=source)


def _located_errors(exc: ValidationError, source: SourceDocument) -> list[CampaignError]:
    errors: list[CampaignError] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        original = (error.get("ctx") or {}).get("error")
        if isinstance(original, _IndexedError):
            loc, message = original.loc, str(original)
        else:
            message = _message(error)
        errors.append(
            CampaignError(message, location=source.location(loc), field=dotted(loc), fix=_fix(error))
        )
    return errors


def _message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "enum":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"'{error.get('input')}' is not one of {expected}"
    return error["msg"].removeprefix("Value error, ")


def _fix(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "remove it or check its spelling"
    if kind == "missing":
        return "add it"
    if kind == "string_pattern_mismatch":
        return "use lowercase letters, digits and dashes"
    return ""
