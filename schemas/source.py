"""Load YAML while remembering where every value came from (file, line, column).

PyYAML's composer gives nodes with start marks; we build plain Python values from them and keep a
map from each value's path (tuple of keys and indexes) to its location, so a validation error on
`batches[2].caption` can point at the line that wrote it. Duplicate mapping keys, which PyYAML
silently overwrites, are reported as errors here, and so are tags other than the core schema's.

Campaign files are untrusted, so two YAML features are bounded: nesting (at most MAX_DEPTH levels)
and aliases (together they may repeat at most MAX_ALIAS_VALUES values: each alias is built as a
copy, and a few lines of aliases of aliases make 10^12 of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from postdeck.errors import CampaignError, CampaignErrors, Location
from postdeck.schemas.file_limits import (
    DEFAULT_LIMITS,
    FileLimits,
    check_batches,
    check_size,
    check_text_size,
)

PathKey = tuple[str | int, ...]

# libyaml's composer when present (several times faster; same marks), else the pure-Python one.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 100  # a campaign needs about 6 levels; its vars a few more
MAX_ALIAS_VALUES = 10_000  # far above reusing a list or a block of options a few times
# Depth libyaml composes quickly and safely. Its composer recurses in C (100,000 levels crash the
# process) and takes time growing with the square of the depth, so deeper input is refused first.
_SAFE_TO_COMPOSE = 1000
_LEADING_INDICATORS = re.compile(r"^[ \t?:-]*", re.MULTILINE)


@dataclass
class SourceDocument:
    path: Path
    data: Any
    # (line, column) of each value; made a Location (and kept) when first asked for.
    locations: dict[PathKey, tuple[int, int] | Location] = field(default_factory=dict)
    # Read leniently: the YAML-level errors (a duplicate key, a tag...), whose values were left out,
    # and the paths they make unreliable (a later error under one of them is their consequence).
    errors: list[CampaignError] = field(default_factory=list)
    covered: frozenset[PathKey] = frozenset()

    def is_covered(self, key: PathKey) -> bool:
        return any(key[: len(path)] == path for path in self.covered)

    def location(self, key: PathKey) -> Location:
        """The location of the value at key, or of its nearest ancestor that has one."""
        while key not in self.locations:
            if not key:
                return Location(str(self.path), 1, 1)
            key = key[:-1]
        where = self.locations[key]
        if isinstance(where, tuple):
            where = self.locations[key] = Location(str(self.path), *where)
        return where


def load_yaml_with_locations(
    path: Path, text: str | None = None, *, limits: FileLimits = DEFAULT_LIMITS, lenient: bool = False
) -> SourceDocument:
    """Parse one YAML document; raise CampaignError (with the line) for syntax errors or duplicate keys,
    and for a file over the size limits (checked before it is read or parsed: file_limits.py).
    `lenient`: errors of single values or keys (duplicates, tags, unreadable scalars) come back in the
    document, those values left out, so the rest of the file can still be checked."""
    if text is None:
        check_size(path, limits)
        text = _read(path)
    else:
        check_text_size(path, text, limits)
    node = _compose(path, text, limits)
    if node is None:
        raise CampaignError(
            "the file is empty", location=Location(str(path), 1, 1), fix="write a campaign (name:, batches:)"
        )
    builder = _Builder(path, text)
    data = builder.build(node, (), 0)
    if builder.errors and not lenient:
        raise CampaignErrors(builder.errors)
    return SourceDocument(
        path=path,
        data=data,
        locations=builder.locations,
        errors=builder.errors,
        covered=frozenset(builder.covered),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(
            "file not found", location=Location(str(path)), fix="check the campaign path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(
            f"cannot read file: {exc}", location=Location(str(path)), fix="save it as UTF-8 text"
        ) from None


def _compose(path: Path, text: str, limits: FileLimits) -> yaml.Node | None:
    try:
        _check_nesting(path, text)
        check_batches(path, text, limits, _COMPOSER)
        return yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_location(path, mark) if mark else Location(str(path))
        raise CampaignError(
            f"malformed YAML: {exc.problem or exc}", location=loc, fix="fix the YAML syntax"
        ) from None
    except yaml.YAMLError as exc:
        raise CampaignError(
            f"malformed YAML: {exc}", location=Location(str(path)), fix="fix the YAML syntax"
        ) from None
    except RecursionError:  # the pure-Python composer, on nesting below _SAFE_TO_COMPOSE
        raise _too_deep(Location(str(path)), "") from None


def _check_nesting(path: Path, text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before composing, when the text could hold it."""
    if _nesting_bound(text) <= _SAFE_TO_COMPOSE:
        return  # the builder checks the real depth
    try:
        _scan_depth(path, text)
    except yaml.YAMLError as exc:
        # libyaml 0.2.6 (PyYAML 6.0.4's wheels) refuses 1,000 levels in its scanner, which reads a
        # flow collection ahead before it yields the first event: scan what comes before that point,
        # which holds the level too deep, to name it like every other path does.
        mark = getattr(exc, "problem_mark", None)
        if mark is None or "nesting depth" not in str(exc):
            raise
        _scan_depth(path, text[: mark.index])
        raise


def _scan_depth(path: Path, text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_COMPOSER):  # a stream: stops at the first level too deep
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(_mark_location(path, event.start_mark), "")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _nesting_bound(text: str) -> int:
    """A cheap upper bound of the nesting depth: a level opens a flow collection (`[`, `{`) or goes
    one column deeper in a block (indentation, or a `- `, `? `, `: ` indicator)."""
    deepest_block = max(map(len, _LEADING_INDICATORS.findall(text)), default=0)
    return text.count("[") + text.count("{") + 2 * deepest_block + 2


def _too_deep(location: Location, key: str) -> CampaignError:
    return CampaignError(
        f"YAML nested more than {MAX_DEPTH} levels deep",
        location=location,
        field=key,
        fix="flatten the structure",
    )


def _mark_location(path: Path, mark: yaml.Mark) -> Location:
    return Location(str(path), mark.line + 1, mark.column + 1)


class _Builder:
    """Plain values from composed nodes, with each value's (line, column) and the errors found."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.locations: dict[PathKey, tuple[int, int] | Location] = {}
        self.errors: list[CampaignError] = []
        self.covered: set[PathKey] = set()  # where the errors are: what is under them is unreliable
        self._lines: list[str] | None = None
        self._built: set[int] = set()  # collection nodes built once: meeting one again is an alias
        self._in_alias = 0
        self._repeated = 0  # values built again through aliases

    def build(self, node: yaml.Node, key: PathKey, depth: int) -> Any:
        self.locations[key] = self._where(node)
        if self._in_alias:
            self._count_repeat(node, key)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            return self._scalar(node, key) if self._tag_allowed(node, key) else None
        if depth >= MAX_DEPTH:
            raise _too_deep(self._location(node), _short(key))
        if not self._tag_allowed(node, key):
            return None
        if id(node) not in self._built:
            self._built.add(id(node))
            return self._collection(node, key, depth)
        self._in_alias += 1
        try:
            return self._collection(node, key, depth)
        finally:
            self._in_alias -= 1

    def _collection(self, node: yaml.Node, key: PathKey, depth: int) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key, i), depth + 1) for i, item in enumerate(node.value)]
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            name = self._key(key_node, key, result)
            if name is not None:
                result[name] = self.build(value_node, (*key, name), depth + 1)
        return result

    def _key(self, node: yaml.Node, parent: PathKey, siblings: dict[Any, Any]) -> str | None:
        """The key's name, or None (and an error) for a merge key, a non-string or a duplicate: the
        mapping is then unreliable as a whole (a merged or tagged key's value is missing from it)."""
        name = self._key_name(node, parent, siblings)
        if name is None:
            self.covered.add(parent)
        return name

    def _key_name(self, node: yaml.Node, parent: PathKey, siblings: dict[Any, Any]) -> str | None:
        if node.tag == "tag:yaml.org,2002:merge":
            self._error(
                node,
                "YAML merge keys (<<) are not supported",
                (*parent, "<<"),
                "write the keys out, or use `styles`",
            )
            return None
        if not self._tag_allowed(node, (*parent, str(getattr(node, "value", "?")))):
            return None
        name = yaml.SafeLoader.construct_scalar(_LOADER, node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(name, str):
            self._error(node, "mapping keys must be plain strings", parent, "quote the key")
            return None
        if name in siblings:
            self._error(
                node,
                f"duplicate key '{name}'",
                (*parent, name),
                "each key may appear once; remove or rename one",
            )
            return None
        return name

    def _tag_allowed(self, node: yaml.Node, key: PathKey) -> bool:
        """Only the core schema's tags (and times written plainly): `!!binary`, `!!set`, `!!python/…`
        or a custom `!foo` would make values no campaign field means, or code-shaped ones."""
        tag = foreign_tag(node)
        if tag is None:
            return True
        self._error(
            node,
            f"YAML tag `{tag}` is not allowed",
            key,
            "remove the tag: campaign files use plain YAML (text, numbers, true/false, null, lists, "
            "mappings; times written without a tag)",
        )
        return False

    def _scalar(self, node: yaml.ScalarNode, key: PathKey) -> Any:
        try:
            return _LOADER.construct_object(node, deep=True)
        except (
            yaml.YAMLError,
            ValueError,
            OverflowError,
        ) as exc:  # an unknown tag, 10^5 digits, a 13th month
            problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc
            self._error(node, f"cannot read this value: {problem}", key, "quote it to keep it as text")
            return None
        finally:
            _LOADER.constructed_objects.clear()  # the constructor caches by node: don't keep them

    def _count_repeat(self, node: yaml.Node, key: PathKey) -> None:
        self._repeated += 1
        if self._repeated > MAX_ALIAS_VALUES:
            raise CampaignError(
                f"YAML aliases repeat more than {MAX_ALIAS_VALUES:,} values (aliases of lists of aliases multiply)",
                location=self._location(node),
                field=_short(key),
                fix="write the values out, or use fewer aliases",
            )

    def _error(self, node: yaml.Node, message: str, key: PathKey, fix: str) -> None:
        self.covered.add(key)
        self.errors.append(
            CampaignError(
                message, location=self._location(node), field=_dotted(key) or "(top level)", fix=fix
            )
        )

    def _location(self, node: yaml.Node) -> Location:
        return Location(str(self.path), *self._where(node))

    def _where(self, node: yaml.Node) -> tuple[int, int]:
        mark = node.start_mark
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            # A block scalar's mark is its `|` indicator; its text (a template's line 1) starts below.
            lines = self._split()
            for number in range(mark.line + 1, min(node.end_mark.line + 1, len(lines))):
                content = lines[number]
                if content.strip():
                    return number + 1, len(content) - len(content.lstrip()) + 1
        return mark.line + 1, mark.column + 1

    def _split(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines


_STR = "tag:yaml.org,2002:str"
_YAML = "tag:yaml.org,2002:"
_CORE_SCALARS = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "null"))
_COLLECTION_TAGS = {yaml.SequenceNode: _YAML + "seq", yaml.MappingNode: _YAML + "map"}
_TIMESTAMP = _YAML + "timestamp"


def foreign_tag(node: yaml.Node) -> str | None:
    """The node's tag as written (`!!binary`, `!foo`) when it is not the core schema's, else None.
    A timestamp is allowed only when YAML read it from plain text (`at: 2030-06-01`), not by a tag
    on quoted text (`!!timestamp "2030-06-01"`)."""
    tag: str = node.tag  # yaml is untyped; a node's tag is always its text
    if isinstance(node, yaml.ScalarNode):
        if tag in _CORE_SCALARS:
            return None
        if (
            tag == _TIMESTAMP
            and not node.style
            and _LOADER.resolve(yaml.ScalarNode, node.value, (True, False)) == tag
        ):
            return None
    elif _COLLECTION_TAGS.get(type(node)) == tag:
        return None
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


# One loader instance is enough to construct scalars (it keeps no state between scalar constructions).
_LOADER = yaml.SafeLoader("")


@lru_cache(maxsize=65536)
def _dotted(key: PathKey) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(key: PathKey) -> str:
    """A path for a message: its first parts only, when it is very deep."""
    return _dotted(key) if len(key) <= 6 else _dotted(key[:4]) + "…"


dotted = _dotted
