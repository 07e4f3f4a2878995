"""Run a command where `postdeck` is one folder tree, for tools that walk folders instead of importing.

pyproject.toml maps the top-level folders flows/, providers/, schemas/ and ledger/ to postdeck.flows,
postdeck.providers, ... (package-dir). The editable install resolves that mapping at import time with
a finder hook, which Python follows but import-linter (grimp walks postdeck.__path__), mypy and IDEs
do not: for them postdeck/ has no providers/ in it. The editable install's strict mode builds such a
tree in build/, but the repository's own postdeck/ comes first on sys.path when a tool runs from the
root, so it does not help there.

This script lays a tree of symbolic links, .postdeck/package-tree/postdeck/, with the files of
postdeck/ and each mapped folder at its place, read from package-dir (so the mapping stays written
once), then runs the command inside that folder, e.g. `python scripts/in_package_tree.py lint-imports
../../pyproject.toml` (as `make lint` does). Edits go to the real files; the tree is laid anew on
every run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".postdeck" / "package-tree"


def package_dirs(pyproject: Path) -> dict[str, Path]:
    """The package-dir mapping of pyproject.toml: package name -> its folder."""
    config = tomllib.loads(pyproject.read_text())
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {name: (pyproject.parent / folder).resolve() for name, folder in mapping.items()}


def lay_tree(root: Path, tree: Path) -> Path:
    """Link every mapped folder into `tree` under its package's path; returns `tree`."""
    if tree.exists():
        shutil.rmtree(tree)
    mapped = package_dirs(root / "pyproject.toml")
    # Parents before children, so a mapped subpackage lands inside its parent's real folder.
    for name in sorted(mapped, key=lambda n: n.count(".")):
        place = tree.joinpath(*name.split("."))
        if place.is_symlink():
            raise SystemExit(f"{name}: its parent is linked whole; map the parent to a folder of links")
        place.mkdir(parents=True, exist_ok=True)
        for entry in mapped[name].iterdir():
            if entry.name != "__pycache__" and not place.joinpath(entry.name).exists():
                place.joinpath(entry.name).symlink_to(entry)
    return tree


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    tree = lay_tree(ROOT, TREE)
    return subprocess.call(argv, cwd=tree)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
