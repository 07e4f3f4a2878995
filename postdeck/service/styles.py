"""Named post styles for ad-hoc posts (seed 002's save_style / get_style / list_styles, as code).

A styles file maps names to what a campaign's `styles:` entries hold (a `template` around
`{{ caption }}`, `truncate`, and per-platform blocks), so a style reads the same in a campaign and
in `postdeck post --style NAME`. The file is `styles.yaml` in the working folder, or POSTDECK_STYLES.
It may also be a campaign file: its `styles:` are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from postdeck.errors import PostdeckError
from postdeck.schemas.campaign import Style
from postdeck.settings import settings

DEFAULT_STYLES = Path("styles.yaml")


class StyleError(PostdeckError):
    """A style cannot be found or is not valid."""


def styles_path(path: Path | str | None = None) -> Path:
    return Path(path or settings().styles)  # DEFAULT_STYLES when unset


def list_styles(path: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """Every style of the file (an absent file has none)."""
    source = styles_path(path)
    if not source.exists():
        return {}
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StyleError(f"cannot read styles from {source}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("styles"), dict):
        data = data["styles"]  # a campaign file
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise StyleError(f"{source} must map style names to settings (name: {{template: ...}})")
    return {str(name): definition for name, definition in data.items()}


def get_style(name: str, path: Path | str | None = None) -> dict[str, Any]:
    """One style's settings, checked against the campaign language."""
    styles = list_styles(path)
    if name not in styles:
        known = ", ".join(sorted(styles)) or "none"
        raise StyleError(
            f"no style '{name}' in {styles_path(path)} (styles there: {known}); define it as "
            f'`{name}: {{template: "... {{{{ caption }}}} ..."}}`'
        )
    try:
        Style.model_validate(styles[name])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StyleError(f"style '{name}' in {styles_path(path)}: {where}: {first['msg']}") from None
    return styles[name]
