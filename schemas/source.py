"""Load YAML while remembering where every value came from (file, line, column).

PyYAML's composer gives nodes with start marks; we build plain Python values from them and keep a
map from each value's path (tuple of keys and indexes) to its location, so a validation error on
`batches[2].caption` can point at the line that wrote it. Duplicate mapping keys, which PyYAML
silently overwrites, are reported as errors here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from postdeck.errors import CampaignError, CampaignErrors, Location

PathKey = tuple[str | int, ...]

# libyaml's composer when present (several times faster; same marks), else the pure-Python one.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceDocument:
    path: Path
    data: Any
    locations: dict[PathKey, Location] = field(default_factory=dict)

    def location(self, key: PathKey) -> Location:
        """The location of the value at key, or of its nearest ancestor that has one."""
        while key:
            if key in self.locations:
                return self.locations[key]
            key = key[:-1]
        return self.locations.get((), Location(str(self.path), 1, 1))


def _mark_location(path: Path, node: yaml.Node, lines: list[str] | None = None) -> Location:
    mark = node.start_mark
    if lines is not None and isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        # A block scalar's mark is its `|` indicator; its text (a template's line 1) starts below.
        for number in range(mark.line + 1, min(node.end_mark.line + 1, len(lines))):
            content = lines[number]
            if content.strip():
                return Location(str(path), number + 1, len(content) - len(content.lstrip()) + 1)
    return Location(str(path), mark.line + 1, mark.column + 1)


def load_yaml_with_locations(path: Path, text: str | None = None) -> SourceDocument:
    """Parse one YAML document; raise CampaignError (with the line) for syntax errors or duplicate keys."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CampaignError(
                "file not found", location=Location(str(path)), fix="check the campaign path"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CampaignError(
                f"cannot read file: {exc}", location=Location(str(path)), fix="save it as UTF-8 text"
            ) from None
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        raise CampaignError(
            f"malformed YAML: {exc.problem or exc}", location=loc, fix="fix the YAML syntax"
        ) from None
    except yaml.YAMLError as exc:
        raise CampaignError(
            f"malformed YAML: {exc}", location=Location(str(path)), fix="fix the YAML syntax"
        ) from None
    doc = SourceDocument(path=path, data=None)
    if node is None:
        raise CampaignError(
            "the file is empty", location=Location(str(path), 1, 1), fix="write a campaign (name:, batches:)"
        )
    errors: list[CampaignError] = []
    doc.data = _build(node, (), doc, errors, text.splitlines())
    if errors:
        raise CampaignErrors(errors)
    return doc


def _build(
    node: yaml.Node, key: PathKey, doc: SourceDocument, errors: list[CampaignError], lines: list[str]
) -> Any:
    doc.locations[key] = _mark_location(doc.path, node, lines)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                errors.append(
                    CampaignError(
                        "YAML merge keys (<<) are not supported",
                        location=_mark_location(doc.path, key_node),
                        field=_dotted((*key, "<<")),
                        fix="write the keys out, or use `styles`",
                    )
                )
                continue
            name = (
                yaml.SafeLoader.construct_scalar(_LOADER, key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(name, str):
                errors.append(
                    CampaignError(
                        "mapping keys must be plain strings",
                        location=_mark_location(doc.path, key_node),
                        field=_dotted(key) or "(top level)",
                        fix="quote the key",
                    )
                )
                continue
            if name in result:
                errors.append(
                    CampaignError(
                        f"duplicate key '{name}'",
                        location=_mark_location(doc.path, key_node),
                        field=_dotted((*key, name)),
                        fix="each key may appear once; remove or rename one",
                    )
                )
                continue
            result[name] = _build(value_node, (*key, name), doc, errors, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*key, i), doc, errors, lines) for i, item in enumerate(node.value)]
    if node.tag == _STR:
        return node.value  # the common case, without the constructor's bookkeeping
    return _LOADER.construct_object(node, deep=True)


_STR = "tag:yaml.org,2002:str"
# One loader instance is enough to construct scalars (it keeps no state between scalar constructions).
_LOADER = yaml.SafeLoader("")


@lru_cache(maxsize=65536)
def _dotted(key: PathKey) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted = _dotted
