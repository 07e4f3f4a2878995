"""Render caption templates. Templates are untrusted input: Jinja's sandbox, StrictUndefined, NFC output,
`|int` and `|float` that refuse what they cannot convert (template_numbers.py), and limits on steps,
sizes and work (template_limits.py and its neighbours) against templates that exhaust CPU or memory.

One `Renderer` per templates folder: `{% include %}` reads only that folder (template_loader.py),
and compiled templates are cached by their source.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from pathlib import Path
from typing import Any

import jinja2

from postdeck.errors import CampaignError, Location
from postdeck.schemas import template_limits as limits
from postdeck.schemas.template_environment import LimitedEnvironment
from postdeck.schemas.template_filters import limited_filter
from postdeck.schemas.template_loader import (
    DynamicIncludeError,
    FolderLoader,
    IncludeCycleError,
    TemplateEscapeError,
    check_includes,
    referenced_variables,
)
from postdeck.schemas.template_numbers import NUMBER_FILTERS, ConversionError
from postdeck.schemas.template_sizes import finalize

# `{{ name }}` and nothing else Jinja would read: rendered by substitution, which is what Jinja
# does for it (str() of the value), without compiling a template per caption.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_INCLUDES = re.compile(r"\b(?:include|import|extends|from)\b")


class RefusingUndefined(jinja2.StrictUndefined):
    """StrictUndefined also refuses being shown inside a value: a list, dict or tuple is rendered by
    repr() of its items, which StrictUndefined allows (`{{ [nope] }}` would publish `[Undefined]`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        self._fail_with_undefined_error()
        raise AssertionError  # pragma: no cover - the line above always raises


def _not_serialisable(value: object) -> object:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Renderer:
    """Renders templates for one campaign folder."""

    def __init__(self, templates: Path | None = None) -> None:
        self.env = LimitedEnvironment(
            undefined=RefusingUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            loader=FolderLoader(templates) if templates is not None else None,
        )
        # `|int` and `|float` refuse what they cannot convert instead of rendering 0 (template_numbers.py).
        self.env.filters.update({n: limited_filter(n, f) for n, f in NUMBER_FILTERS.items()})
        # `|tojson` of an undefined value names the variable, like every other place it shows.
        self.env.policies["json.dumps_kwargs"] = {
            **self.env.policies.get("json.dumps_kwargs", {}),
            "default": _not_serialisable,
        }
        self._compiled: dict[str, _Compiled] = {}
        self._acyclic: dict[str, bool] = {}
        # Outputs by (source, values of the variables it reads): a caption that does not read
        # `platform` renders once per batch, not once per platform.
        self._outputs: dict[tuple[object, ...], str] = {}

    def render(self, source: str, variables: dict[str, Any], *, location: Location, field: str) -> str:
        """Render one template; any problem becomes a CampaignError at the template's location."""
        if "{" not in source:
            return unicodedata.normalize("NFC", source.strip())
        try:
            compiled = self._compile(source)
            key = compiled.key(variables, self.env.globals)
            if key is not None and key in self._outputs:
                return self._outputs[key]
            if compiled.template is None:
                text = _substitute(source, variables)
            else:
                text = limits.render(compiled.template, variables)
        except Exception as exc:  # every template failure is the campaign's, never a crash
            raise _campaign_error(exc, source, location, field) from None
        result = unicodedata.normalize("NFC", text.strip())
        if key is not None:
            self._outputs[key] = result
        return result

    def _compile(self, source: str) -> _Compiled:
        compiled = self._compiled.get(source)
        if compiled is None:
            rest = _PLACEHOLDER.sub("", source)
            if "\r" not in source and "{" not in rest and "}" not in rest:
                names = tuple(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(source)))
                compiled = _Compiled(source, names, None)
            else:
                if self.env.loader is not None and _INCLUDES.search(source):
                    check_includes(self.env, source, self._acyclic)
                template = self.env.from_string(source)
                compiled = _Compiled(source, referenced_variables(self.env, source), template)
            self._compiled[source] = compiled
        return compiled


class _Compiled:
    """A template, with the variables its output can depend on (its includes' too)."""

    def __init__(self, source: str, names: tuple[str, ...], template: jinja2.Template | None) -> None:
        self.source = source
        self.names = names
        self.template = template  # None: plain `{{ name }}` substitution
        self._values = operator.itemgetter(*names) if names else None

    def key(self, variables: dict[str, Any], globals_: dict[str, Any]) -> tuple[object, ...] | None:
        """The output cache key for these variables; None if they cannot make one."""
        if self._values is None:
            return (self.source,)
        try:
            values = self._values(variables)
        except KeyError:
            return _cache_key(self.source, self.names, variables, globals_)
        values = (values,) if len(self.names) == 1 else values
        if set(map(type, values)) == _ONLY_TEXT:  # the common case: every value a plain str
            return (self.source, *values)
        return _cache_key(self.source, self.names, variables, globals_)


_ONLY_TEXT = {str}


def _cache_key(
    source: str, names: tuple[str, ...], variables: dict[str, Any], globals_: dict[str, Any]
) -> tuple[object, ...] | None:
    try:
        return (
            source,
            *(_freeze(variables[name]) if name in variables else _global(name, globals_) for name in names),
        )
    except TypeError:
        return None  # a value that cannot be a key: render every time


def _global(name: str, globals_: dict[str, Any]) -> tuple[str, str]:
    if name not in globals_:
        raise TypeError("missing variables are not cached: they are errors")
    return ("global", name)  # Jinja's own globals (range, dict, ...) never change


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a template variable's value (type included: 1 and True differ)."""
    if type(value) is str:
        return value  # the common case; no other type freezes to a plain str
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _freeze(v)) for k, v in value.items()))
    hash(value)
    return (type(value).__name__, value)


def _substitute(source: str, variables: dict[str, Any]) -> str:
    """`{{ name }}` replaced by each value, stopped as soon as the text passes the output limit."""
    size = len(source)

    def value(match: re.Match[str]) -> str:
        nonlocal size
        text = _lookup(variables, match.group(1))
        size += len(text)
        limits.check_output(size)
        return text

    return _PLACEHOLDER.sub(value, source)


def _lookup(variables: dict[str, Any], name: str) -> str:
    if name not in variables:
        raise jinja2.UndefinedError(f"'{name}' is undefined")
    value = variables[name]
    return value if type(value) is str else str(finalize(value))  # a list: measured before str()


def renderer_for(templates: Path | None) -> Renderer:
    """A renderer for one expansion. Not shared between runs: a long-lived process (a Prefect
    worker) must see edits to templates/ files, which the output cache does not track."""
    return Renderer(templates if templates is not None and templates.is_dir() else None)


def render_caption(template: str, variables: dict[str, Any], *, location: Location, field: str) -> str:
    """Render one caption without includes (kept for callers that have no campaign folder)."""
    return Renderer().render(template, variables, location=location, field=field)


def _campaign_error(exc: Exception, source: str, location: Location, field: str) -> CampaignError:
    if isinstance(exc, limits.LimitError):
        return CampaignError(
            f"template over a limit: {exc.message}", location=location, field=field, fix=exc.fix
        )
    if isinstance(exc, ConversionError):
        return CampaignError(f"template error: {exc.message}", location=location, field=field, fix=exc.fix)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _syntax_error(exc, source, location, field)
    if isinstance(exc, jinja2.UndefinedError):
        return CampaignError(
            f"template error: {exc.message}",
            location=location,
            field=field,
            fix="define the variable in `vars` (campaign or batch) or remove it",
        )
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return CampaignError(
            f"template not allowed: {exc}", location=location, field=field, fix="remove the unsafe expression"
        )
    if isinstance(exc, TemplateEscapeError):
        return CampaignError(
            str(exc),
            location=location,
            field=field,
            fix="include only files of the campaign's templates/ folder",
        )
    if isinstance(exc, IncludeCycleError):
        return CampaignError(str(exc), location=location, field=field, fix="break the include cycle")
    if isinstance(exc, DynamicIncludeError):
        return CampaignError(str(exc), location=location, field=field, fix="name the included file literally")
    if isinstance(exc, jinja2.TemplateNotFound):
        return CampaignError(
            f"template not found: {exc.message}",
            location=location,
            field=field,
            fix="add the file to the campaign's templates/ folder or fix the name",
        )
    if isinstance(exc, RecursionError):
        return CampaignError(
            "template recurses too deeply", location=location, field=field, fix="simplify it"
        )
    return CampaignError(f"template error: {exc}", location=location, field=field, fix="fix the template")


def _syntax_error(
    exc: jinja2.TemplateSyntaxError, source: str, location: Location, field: str
) -> CampaignError:
    where = location
    if exc.name is None and exc.lineno and "\n" in source.strip():
        # A multi-line template is a block scalar whose location is its first line.
        where = Location(location.path, (location.line or 1) + exc.lineno - 1, location.column)
    included = f" in {exc.name}" if exc.name else ""
    return CampaignError(
        f"template syntax error{included}: {exc.message}",
        location=where,
        field=field,
        fix="fix the Jinja syntax",
    )
