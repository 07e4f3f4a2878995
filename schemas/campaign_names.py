"""One campaign name, one file: two files of one folder (or two files checked together) that share
their `name:` would share their deliveries' keys in the ledger, so each would plan the other's
deliveries as cancels, and a batch id of both would be published once for the two. Campaigns of
different owners (`owner:`, the user whose keys publish it) are keyed apart, so they may share a name.

The names are read from the files' top-level `name:` and `owner:` lines, without parsing them (a plan or a publish
of one file reads the name of every file beside it): a file whose name is written otherwise (an
anchor, a flow mapping) is skipped here, and its own validation reports what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from postdeck.core.keys import owner_scope
from postdeck.errors import CampaignError, Location
from postdeck.schemas.file_limits import DEFAULT_LIMITS, FileLimits

_VALUE = r"""[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#'"][^\n#]*?))[ \t]*(?:#[^\n]*)?$"""
_NAME = re.compile("^name:" + _VALUE, re.M)
_OWNER = re.compile("^owner:" + _VALUE, re.M)


def name_clashes(paths: Iterable[Path], *, limits: FileLimits = DEFAULT_LIMITS) -> list[CampaignError]:
    """An error at each of `paths` whose campaign name another file has: one of `paths`, or a
    campaign file in the same folder. Each error names the other file's location too."""
    given = {path.resolve(): path for path in paths}
    named: dict[tuple[str, str | None], list[tuple[Path, int]]] = {}
    for real, shown in sorted(_candidates(given, limits).items()):
        found = _name_of(real, limits)
        if found is not None:
            named.setdefault(found[:2], []).append((shown, found[2]))
    errors: list[CampaignError] = []
    for (name, _owner), files in named.items():
        for path, line in files if len(files) > 1 else ():
            if path.resolve() not in given:
                continue
            others = ", ".join(f"{other}:{other_line}" for other, other_line in files if other != path)
            errors.append(
                CampaignError(
                    f"campaign name '{name}' is also the name of {others}: "
                    "two files of one name would share their deliveries in the ledger",
                    location=Location(str(path), line, 1),
                    field="name",
                    fix="give each campaign file its own name",
                )
            )
    return errors


def _candidates(given: dict[Path, Path], limits: FileLimits) -> dict[Path, Path]:
    """The given files and the campaign files beside them (real path → path as shown)."""
    out = dict(given)
    for folder in {real.parent for real in given}:
        shown_folder = next(shown.parent for real, shown in given.items() if real.parent == folder)
        for sibling in folder.iterdir() if folder.is_dir() else ():
            if sibling.suffix in (".yaml", ".yml") and not sibling.name.startswith(".") and sibling.is_file():
                out.setdefault(sibling.resolve(), shown_folder / sibling.name)
    return out


def _name_of(path: Path, limits: FileLimits) -> tuple[str, str | None, int] | None:
    """(name, owner's scope, line) of the file's top-level `name:` and `owner:`, or None."""
    try:
        if path.stat().st_size > limits.max_bytes:
            return None  # its own check refuses it
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _NAME.search(text)
    if match is None:
        return None
    name = _value(match)
    if not name:
        return None
    owner = _OWNER.search(text)
    return (name, _scope(_value(owner) if owner else None), text.count("\n", 0, match.start()) + 1)


def _value(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group is not None).strip()


def _scope(owner: str | None) -> str | None:
    """One spelling per user (a UUID in any case is one owner), as the ledger keys spell it."""
    try:
        return owner_scope(owner)
    except ValueError:
        return owner  # its own validation refuses it
