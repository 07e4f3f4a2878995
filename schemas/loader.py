"""Read a campaign file into a validated Campaign, turning every problem into a located CampaignError.

`load_campaign` is strict: any problem raises. `read_campaign` (for `validate`) returns every
problem of the file together with as much of the campaign as is valid: the batches with field
errors are set aside, so the others can still be rendered and checked in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.campaign import Batch, Campaign
from postdeck.schemas.file_limits import DEFAULT_LIMITS, FileLimits
from postdeck.schemas.source import PathKey, SourceDocument, dotted, load_yaml_with_locations
from postdeck.schemas.structure import structure_errors


@dataclass(frozen=True)
class LoadedCampaign:
    campaign: Campaign
    path: Path  # the campaign file
    source: SourceDocument
    # Index in the file of each of campaign.batches; None when every batch was valid (same order).
    batch_indexes: tuple[int, ...] | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def templates_folder(self) -> Path:
        """Where `{% include %}` looks: the `templates/` folder next to the campaign file."""
        return self.folder / "templates"

    def source_index(self, position: int) -> int:
        """The index in the file of campaign.batches[position] (for error locations)."""
        return self.batch_indexes[position] if self.batch_indexes is not None else position

    def indexed_batches(self) -> list[tuple[int, Batch]]:
        return [(self.source_index(i), b) for i, b in enumerate(self.campaign.batches)]


def load_campaign(path: str | Path, *, limits: FileLimits = DEFAULT_LIMITS) -> LoadedCampaign:
    """Load and validate one campaign file. Raises CampaignErrors listing every problem found."""
    loaded, errors = read_campaign(path, limits=limits)
    if errors or loaded is None:
        raise CampaignErrors(errors)
    return loaded


def read_campaign(
    path: str | Path, text: str | None = None, *, limits: FileLimits = DEFAULT_LIMITS
) -> tuple[LoadedCampaign | None, list[CampaignError]]:
    """Every problem of the file, and the valid part of the campaign (None if nothing is usable).
    Given `text`, that is read as the file at `path` would be (a file not written yet)."""
    path = Path(path)
    try:
        source = load_yaml_with_locations(path, text, limits=limits, lenient=True)
    except CampaignErrors as exc:
        return None, list(exc.errors)
    except CampaignError as exc:
        return None, [exc]
    if source.errors and (not isinstance(source.data, dict) or () in source.covered):
        return None, list(source.errors)
    if not isinstance(source.data, dict):
        error = CampaignError(
            "a campaign file must be a mapping (name:, timezone:, batches:, ...)",
            location=source.location(()),
            fix="start the file with `name:` and `batches:`",
        )
        return None, [error]
    # A value a YAML error left out of a batch sets the batch aside; one elsewhere (defaults, styles,
    # vars...) shapes every delivery, so only the fields' own errors are checked, not how they fit.
    yaml_batches = {
        p[1] for p in source.covered if p[:1] == ("batches",) and len(p) > 1 and isinstance(p[1], int)
    }
    elsewhere = any(p[:1] != ("batches",) or len(p) < 2 for p in source.covered)
    errors = list(source.errors) + ([] if elsewhere else structure_errors(source))
    try:
        campaign = Campaign.model_validate(source.data)
    except ValidationError as exc:
        errors += _located_errors(exc, source)
        return None if elsewhere else _valid_part(source, exc.errors(), yaml_batches), sort_errors(errors)
    if elsewhere:
        return None, sort_errors(errors)
    if yaml_batches:
        return _valid_part(source, [], yaml_batches), sort_errors(errors)
    return LoadedCampaign(campaign=campaign, path=path, source=source), sort_errors(errors)


def sort_errors(errors: list[CampaignError]) -> list[CampaignError]:
    """By position in the file; each message once."""
    unique = {str(e): e for e in errors}
    return sorted(
        unique.values(), key=lambda e: (e.location.path, e.location.line or 0, e.location.column or 0)
    )


# Top-level fields whose error need not stop the rest of the file being rendered and checked: an
# unknown field is left out, these fall back to their defaults. The others (styles, defaults,
# accounts, cadence, vars, name) shape every delivery: checking without them would report errors
# that are not there.
_SET_ASIDE = frozenset({"timezone", "owner", "late", "retry_failed", "retry_window_hours"})


def _valid_part(source: SourceDocument, invalid: list[ErrorDetails], bad: set[int]) -> LoadedCampaign | None:
    """The campaign without its invalid batches (those of pydantic's errors, and `bad`) and set-aside
    fields, when the rest of it is valid: `validate` reports the content errors of the rest in the
    same run."""
    bad = set(bad)
    dropped: set[str] = set()
    for error in invalid:
        loc = error["loc"]
        if loc[:1] == ("batches",) and len(loc) > 1 and isinstance(loc[1], int):
            bad.add(loc[1])
        elif loc[0] in _SET_ASIDE or (len(loc) == 1 and error["type"] == "extra_forbidden"):
            dropped.add(str(loc[0]))
        else:
            return None
    batches = source.data.get("batches")
    if not isinstance(batches, list):
        return None
    keep = tuple(i for i in range(len(batches)) if i not in bad)
    if not keep:
        return None
    data = {k: v for k, v in source.data.items() if k not in dropped}
    data["batches"] = [batches[i] for i in keep]
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError:
        return None
    indexes = keep if bad else None
    return LoadedCampaign(campaign=campaign, path=source.path, source=source, batch_indexes=indexes)


def _located_errors(exc: ValidationError, source: SourceDocument) -> list[CampaignError]:
    errors: list[CampaignError] = []
    for error in exc.errors():
        loc = _useful_loc(tuple(error["loc"]))
        if source.is_covered(loc):
            continue  # the consequence of a YAML error already reported there (a value left out)
        errors.append(
            CampaignError(_message(error), location=source.location(loc), field=dotted(loc), fix=_fix(error))
        )
    return errors


def _useful_loc(loc: PathKey) -> PathKey:
    # pydantic appends validator names to union members (e.g. 'function-after[...]', 'str'); drop them.
    return tuple(part for part in loc if isinstance(part, int) or "[" not in str(part))


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind in ("enum", "literal_error"):
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"'{error.get('input')}' is not one of {expected}"
    if kind == "string_pattern_mismatch":
        return f"'{error.get('input')}' does not have the expected form"
    return error["msg"].removeprefix("Value error, ")


_PATTERN_FIXES = {
    "id": "use lowercase letters, digits and dashes",
    "name": "use lowercase letters, digits and dashes",
    "style": "use lowercase letters, digits and dashes",
    "every": "use a duration like 30m, 6h, 1d or 1h30m",
    "repeat.every": "use days, weeks or months, like 1d, 2w or 1mo",
    "organization": "use an organization URN like urn:li:organization:1234",
    "board": "use the board's numeric id",
    "page": "use the Page's numeric id",
}


_TYPE_FIXES = {
    "string_type": "write text (quote it if YAML reads it as something else)",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "list_type": "write a list, e.g. [twitter, bluesky]",
    "dict_type": "write a mapping (key: value)",
    "model_type": "write a mapping (key: value)",
    "datetime_type": "use a time like 2030-06-01 09:00 (naive times are in the campaign timezone)",
    "datetime_from_date_parsing": "use a time like 2030-06-01 09:00 (naive times are in the campaign timezone)",
    "datetime_parsing": "use a time like 2030-06-01 09:00 (naive times are in the campaign timezone)",
    "too_short": "add at least one",
    "string_too_short": "write some text",
}


def _fix(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "remove it or check its spelling"
    if kind == "missing":
        return "add it"
    if kind in ("enum", "literal_error"):
        return "use one of those values"
    if kind == "string_pattern_mismatch":
        names = [str(p) for p in error["loc"] if isinstance(p, str)]
        last, pair = (names or [""])[-1], ".".join(names[-2:])
        return _PATTERN_FIXES.get(pair) or _PATTERN_FIXES.get(
            last, "see schemas/campaign.schema.json for the expected form"
        )
    return _TYPE_FIXES.get(kind, "see schemas/campaign.schema.json")
