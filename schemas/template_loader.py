"""`{% include %}` for campaign templates: only files of the campaign's templates/ folder, no cycles.

Templates are untrusted input, so the loader refuses absolute names, `..`, and any path that
resolves (symlinks followed) outside the folder. Include names must be literal strings, which lets
`check_includes` walk the whole include graph before rendering and name a cycle instead of
letting it recurse.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import cast

import jinja2
from jinja2 import meta, nodes


class TemplateEscapeError(jinja2.TemplateError):
    """An include name that would leave the templates folder."""


class IncludeCycleError(jinja2.TemplateError):
    """Templates that include each other."""


class DynamicIncludeError(jinja2.TemplateError):
    """An include whose name is computed: it cannot be checked before rendering."""


class FolderLoader(jinja2.BaseLoader):
    """Loads templates by relative name from one folder, and nothing outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self._path(template)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise jinja2.TemplateNotFound(template) from None
        mtime = path.stat().st_mtime
        return text, str(path), lambda: path.exists() and path.stat().st_mtime == mtime

    def _path(self, name: str) -> Path:
        pure = PurePosixPath(name)
        if "\\" in name or pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise TemplateEscapeError(f"include '{name}' is not a plain relative name inside templates/")
        root = self.root.resolve()
        path = (root / pure).resolve()  # follows symlinks: an escaping link is caught here
        if not path.is_relative_to(root):
            raise TemplateEscapeError(f"include '{name}' leaves the templates folder")
        if not path.is_file():
            raise jinja2.TemplateNotFound(f"{name} (looked in {self.root})")
        return path


def referenced_names(ast: nodes.Template) -> list[str]:
    """The templates an AST includes, imports or extends; raises for computed names."""
    names: list[str] = []
    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        # find_all yields nodes of those four types only, each with a `template`; its typing joins
        # them into their base class, Stmt, which has none.
        reference = cast("nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends", node)
        literal = _literal_names(reference.template)
        if literal is None:
            raise DynamicIncludeError("include names must be literal strings, e.g. {% include 'footer.j2' %}")
        names.extend(literal)
    return names


def _literal_names(target: nodes.Expr) -> list[str] | None:
    """The names of a literal include target ('a.j2', or a list or tuple of them), else None."""
    if isinstance(target, nodes.Const) and isinstance(target.value, str):
        return [target.value]
    if isinstance(target, (nodes.Tuple, nodes.List)):
        texts = [i.value for i in target.items if isinstance(i, nodes.Const) and isinstance(i.value, str)]
        return texts if len(texts) == len(target.items) else None
    return None


def check_includes(env: jinja2.Environment, source: str, checked: dict[str, bool]) -> None:
    """Walk every include reachable from `source`; raise on a cycle, an escape or a missing file.

    `checked` remembers template names already known to be acyclic (shared per environment).
    """

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycle = " → ".join((*trail[trail.index(name) :], name))
            raise IncludeCycleError(f"templates include each other: {cycle}")
        if checked.get(name):
            return
        if env.loader is None:
            raise jinja2.TemplateNotFound(name)
        text, _, _ = env.loader.get_source(env, name)
        for child in referenced_names(env.parse(text)):
            visit(child, (*trail, name))
        checked[name] = True

    for name in referenced_names(env.parse(source)):
        visit(name, ())


def referenced_variables(env: jinja2.Environment, source: str) -> tuple[str, ...]:
    """Every variable `source` and the templates it includes may read (for output caching)."""
    names: set[str] = set()
    seen: set[str] = set()

    def visit(ast: nodes.Template) -> None:
        names.update(meta.find_undeclared_variables(ast))
        for child in referenced_names(ast):
            if child not in seen and env.loader is not None:
                seen.add(child)
                visit(env.parse(env.loader.get_source(env, child)[0]))

    visit(env.parse(source))
    return tuple(sorted(names))
