"""The limits of schemas/source.py on campaign files: nesting depth and alias expansion, where they stop,
what they say, and the scalars that used to crash the loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas import source
from postdeck.schemas.file_limits import MAX_BATCHES, MAX_BYTES, FileLimits
from postdeck.schemas.source import MAX_ALIAS_VALUES, MAX_DEPTH, load_yaml_with_locations
from tests.security.test_security_templates import nested
from tests.service.test_service_harness import run_cli


def _load(tmp_path: Path, text: str) -> source.SourceDocument:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_yaml_with_locations(path)


def _refused(tmp_path: Path, text: str) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        _load(tmp_path, text)
    return caught.value


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    # nested(d): the root mapping, `vars`, then d lists: the deepest is at depth d + 1 (the root is 0).
    doc = _load(tmp_path, nested(MAX_DEPTH - 2))
    assert doc.location(("vars", "x", *[0] * 50)).line == 2


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, 150, 2_000, 1_000_000])
def test_deeper_nesting_is_refused_at_the_same_place_whichever_path_finds_it(
    tmp_path: Path, depth: int
) -> None:
    """Shallow enough to compose, the builder finds it; deeper, a scan of the event stream before libyaml's
    composer (which recurses in C, and crashes on a million levels). Both point at the same bracket."""
    error = _refused(tmp_path, nested(depth))
    assert f"nested more than {MAX_DEPTH} levels" in error.message and error.fix
    column = len("vars: {x: ") + 1 + MAX_DEPTH - 2  # the bracket that opens level MAX_DEPTH
    assert (error.location.path, error.location.line, error.location.column) == (
        str(tmp_path / "c.yaml"),
        2,
        column,
    )


def test_deep_block_nesting_is_refused_too(tmp_path: Path) -> None:
    error = _refused(tmp_path, "name: x\nvars:\n  x:\n    " + "- " * 200_000 + "a\n")
    assert "nested more than" in error.message and error.location.line == 4


def test_the_pure_python_composer_is_refused_as_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "_COMPOSER", yaml.SafeLoader)  # when libyaml is missing
    error = _refused(tmp_path, nested(900))  # shallow for the scan, too deep for Python's recursion
    assert "nested more than" in error.message and error.location.path == str(tmp_path / "c.yaml")
    assert _load(tmp_path, nested(50)).data["vars"]["x"]


def _aliases(count: int) -> str:
    items = ", ".join(["x"] * 100)
    return f"name: a\nvars:\n  a: &a [{items}]\n  b: [{', '.join(['*a'] * count)}]\n"


def test_aliases_may_repeat_up_to_the_limit(tmp_path: Path) -> None:
    doc = _load(tmp_path, _aliases(MAX_ALIAS_VALUES // 100))  # 100 copies of 100 values
    assert len(doc.data["vars"]["b"]) == 100 and doc.data["vars"]["b"][99][99] == "x"


def test_aliases_past_the_limit_are_refused_at_the_anchor(tmp_path: Path) -> None:
    error = _refused(tmp_path, _aliases(MAX_ALIAS_VALUES // 100 + 1))
    assert f"aliases repeat more than {MAX_ALIAS_VALUES:,} values" in error.message and error.fix
    # Where the values come from (the anchored list), and where they are repeated once too often.
    assert (error.location.line, error.location.column, error.field) == (3, 10, "vars.b[100][0]")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    error = _refused(tmp_path, "name: x\nvars: &v {self: *v}\n")
    assert "nested more than" in error.message and error.field.startswith("vars.self.self")


def test_scalars_python_cannot_read_are_located_errors(tmp_path: Path) -> None:
    """An unknown tag, a number of 5,000 digits, a 13th month: errors of the file, not crashes."""
    with pytest.raises(CampaignErrors) as caught:
        _load(tmp_path, "name: x\nvars:\n  tag: !foo bar\n  big: " + "1" * 5000 + "\n  day: 2030-13-45\n")
    errors = caught.value.errors
    assert [(e.field, e.location.line) for e in errors] == [("vars.tag", 3), ("vars.big", 4), ("vars.day", 5)]
    assert "YAML tag `!foo` is not allowed" in errors[0].message and "remove the tag" in errors[0].fix
    assert all("cannot read this value" in e.message and "quote it" in e.fix for e in errors[1:])


def test_locations_are_made_once_and_fall_back_to_the_nearest_ancestor(tmp_path: Path) -> None:
    doc = _load(tmp_path, "name: x\nvars:\n  caption: |\n    hello\n    world\n")
    first = doc.location(("vars", "caption"))
    assert (first.line, first.column) == (4, 5)  # a block scalar: its text, not its `|`
    assert doc.location(("vars", "caption")) is first
    assert doc.location(("vars", "missing", 3)).line == 3
    assert doc.location(()).line == 1


# --- the size of one file: bytes before it is read, batches before it is parsed ------------------------


def _batches(count: int, flow: bool = False) -> str:
    items = [f"{{id: b{i}}}" for i in range(count)]
    body = (
        "batches: [" + ", ".join(items) + "]\n"
        if flow
        else "batches:\n" + "".join(f"  - {i}\n" for i in items)
    )
    return "name: big\n" + body


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nvars: {pad: '" + "x" * (MAX_BYTES + 10) + "'}\n")
    monkeypatch.setattr(source, "_read", lambda p: pytest.fail("the file was read"))
    with pytest.raises(CampaignError) as caught:
        load_yaml_with_locations(path)
    error = caught.value
    assert error.location.path == str(path) and f"over the limit of {MAX_BYTES:,} bytes" in error.message
    assert f"{path.stat().st_size:,} bytes" in error.message and "POSTDECK_CAMPAIGN_MAX_BYTES" in error.fix
    # Text given (a file read from git) is held to the same limit.
    with pytest.raises(CampaignError, match="over the limit of 100 bytes"):
        load_yaml_with_locations(path, "name: x\n" + "#" * 200, limits=FileLimits(max_bytes=100))


@pytest.mark.slow
@pytest.mark.parametrize("flow", [False, True])
def test_a_file_over_the_batch_limit_is_refused_at_the_first_batch_too_many(
    tmp_path: Path, flow: bool
) -> None:
    # 200,000 batches under the byte limit: refused by the event scan, without composing the file.
    path = tmp_path / "c.yaml"
    path.write_text(_batches(200_000, flow))
    assert path.stat().st_size < MAX_BYTES
    with pytest.raises(CampaignError) as caught:
        load_yaml_with_locations(path)
    error = caught.value
    assert f"more than {MAX_BATCHES:,} batches" in error.message and error.field == f"batches[{MAX_BATCHES}]"
    assert (
        error.location.line == (2 if flow else MAX_BATCHES + 3)
        and "POSTDECK_CAMPAIGN_MAX_BATCHES" in error.fix
    )


def test_a_file_at_the_batch_limit_loads(tmp_path: Path) -> None:
    limits = FileLimits(max_batches=3)
    for flow in (False, True):
        path = tmp_path / "c.yaml"
        path.write_text(_batches(3, flow) + "vars: {many: [1, 2, 3, 4, 5], more: [[a, b, c, d]]}\n")
        assert len(load_yaml_with_locations(path, limits=limits).data["batches"]) == 3
        path.write_text(_batches(4, flow))
        with pytest.raises(CampaignError, match="more than 3 batches"):
            load_yaml_with_locations(path, limits=limits)


def test_validate_and_plan_take_the_limits_from_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_batches(3))
    monkeypatch.setenv("POSTDECK_CAMPAIGN_MAX_BATCHES", "2")
    for command in ("validate", "plan"):
        run = run_cli(capsys, command, str(path))
        assert run.code == 1 and "more than 2 batches in one file" in run.out + run.err, (command, run)
    monkeypatch.setenv("POSTDECK_CAMPAIGN_MAX_BATCHES", "3")
    monkeypatch.setenv("POSTDECK_CAMPAIGN_MAX_BYTES", "50")
    run = run_cli(capsys, "validate", str(path))
    assert run.code == 1 and "over the limit of 50 bytes" in run.out + run.err
