"""The committed JSON Schema is exactly what the models generate, and editors can use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from postdeck.schemas.json_schema import SCHEMA_FILE, campaign_json_schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "campaigns").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schemas/campaign.schema.json"


def test_the_committed_schema_is_regenerated_byte_for_byte() -> None:
    assert SCHEMA_FILE.read_bytes() == campaign_json_schema().encode("utf-8"), "run `postdeck schema`"


def test_examples_carry_the_yaml_language_server_modeline() -> None:
    assert EXAMPLES
    for example in EXAMPLES:
        assert example.read_text(encoding="utf-8").splitlines()[0] == MODELINE, example.name
    assert (REPO / "campaigns" / MODELINE.split("=", 1)[1]).resolve() == SCHEMA_FILE.resolve()


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it: timestamps stay strings."""


_EditorLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_examples_validate_against_the_schema_and_typos_do_not() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(yaml.safe_load(SCHEMA_FILE.read_text()))
    for example in EXAMPLES:
        data = yaml.load(example.read_text(encoding="utf-8"), Loader=_EditorLoader)
        assert list(validator.iter_errors(data)) == [], example.name
    typo = {"name": "c", "batches": [{"id": "a", "caption": "hi", "captoin": "x"}]}
    assert any("captoin" in e.message for e in validator.iter_errors(typo))
    bad_privacy = {"name": "c", "batches": [{"id": "a", "caption": "hi", "tiktok": {"privacy": "PUBLIC"}}]}
    assert list(validator.iter_errors(bad_privacy))
