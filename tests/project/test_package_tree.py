"""scripts/in_package_tree.py: the folder tree of postdeck that import-linter and mypy walk, laid from
package-dir (`make lint` runs the layer contracts in it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "in_package_tree.py"


def _script():
    spec = importlib.util.spec_from_file_location("in_package_tree", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"pkg" = "pkg"\n"pkg.extra" = "extra"\n'
    )
    (root / "pkg" / "inner").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "inner" / "__init__.py").write_text("")
    (root / "extra").mkdir()
    (root / "extra" / "__init__.py").write_text("")
    (root / "extra" / "mod.py").write_text("VALUE = 1\n")
    return root


def test_a_mapped_folder_lands_inside_its_parent_package(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    tree = _script().lay_tree(root, tmp_path / "tree")

    assert (tree / "pkg" / "extra" / "mod.py").resolve() == root / "extra" / "mod.py"
    assert (tree / "pkg" / "inner").resolve() == root / "pkg" / "inner"
    assert (tree / "pkg" / "__init__.py").read_text() == ""


def test_laying_the_tree_again_drops_what_is_gone_and_leaves_the_real_files(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    lay_tree = _script().lay_tree
    lay_tree(root, tmp_path / "tree")
    (root / "extra" / "mod.py").unlink()
    (root / "extra" / "new.py").write_text("")

    tree = lay_tree(root, tmp_path / "tree")

    assert sorted(p.name for p in (tree / "pkg" / "extra").iterdir()) == ["__init__.py", "new.py"]
    assert (root / "pkg" / "inner" / "__init__.py").exists()  # links removed, not what they point at
