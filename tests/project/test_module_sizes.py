"""Issue #16: no module of the package is over 400 lines, so each stays one job a reader can hold.

The sandbox simulators' state machines (postdeck/sandbox/*_state.py) are exempt: each mirrors one
provider's API whole, and splitting it would scatter the transitions a reader checks side by side.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FOLDERS = ("postdeck", "flows", "providers", "schemas", "ledger")
MAX_LINES = 400


def _exempt(path: Path) -> bool:
    return path.parent == ROOT / "postdeck" / "sandbox" and path.name.endswith("_state.py")


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def test_no_module_is_over_400_lines() -> None:
    modules = [path for folder in PACKAGE_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]
    assert modules, "no modules found: the package folders moved?"
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if not _exempt(path) and (lines := _line_count(path)) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concern): {too_long}"
