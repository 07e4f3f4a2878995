"""`postdeck validate`'s output: plain lines off a terminal, repeated warnings folded per file, the
same counts and exit codes; no rich import off a terminal; forked children that fail are redone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postdeck.cli import app
from postdeck.schemas import validation

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)  # rich would colour even a pipe


def campaign(folder: Path, links: int, name: str = "c") -> Path:
    """`links` Instagram captions with a link: one warning each (not clickable on Instagram)."""
    (folder / "square.jpg").write_bytes((REPO / "campaigns" / "media" / "spring-roast.jpg").read_bytes())
    batches = "".join(
        f"  - {{id: b{i}, caption: 'see https://northside.example/{i}', media: [square.jpg]}}\n"
        for i in range(links)
    )
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ndefaults: {{platforms: [instagram]}}\nbatches:\n{batches}")
    return path


def test_repeated_warnings_are_folded_with_the_places_of_the_others(tmp_path: Path) -> None:
    path = campaign(tmp_path, 4)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        f"warning: {path}:4:23: batches[0].caption: instagram: links in captions are not clickable on Instagram"
    )
    assert lines[1] == (
        f"warning: {path}: … and 3 more like this "
        "(batches[1].caption at 5:23, batches[2].caption at 6:23, batches[3].caption at 7:23)"
    )
    assert lines[2] == "1 campaign file(s): 1 valid, 0 invalid (0 error(s), 4 warning(s))"
    assert "\x1b[" not in result.output  # plain text off a terminal


def test_a_few_alike_warnings_are_printed_one_by_one_and_quiet_prints_none(tmp_path: Path) -> None:
    path = campaign(tmp_path, 2)
    output = runner.invoke(app, ["validate", str(path)]).output
    assert output.count("not clickable") == 2 and "more like this" not in output
    quiet = runner.invoke(app, ["validate", "--quiet", str(path)]).output
    assert quiet == "1 campaign file(s): 1 valid, 0 invalid (0 error(s), 2 warning(s))\n"


def test_errors_are_never_folded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    batches = "".join(
        f"  - {{id: b{i}, caption: '{'x' * 400} {i}', platforms: [bluesky]}}\n" for i in range(4)
    )
    path.write_text(f"name: c\nbatches:\n{batches}")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output.count("bluesky: caption is") == 4
    assert (
        result.output.splitlines()[-1] == "1 campaign file(s): 0 valid, 1 invalid (4 error(s), 0 warning(s))"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("links", "code"), [(1, 0), (0, 1)])
def test_the_command_line_keeps_its_exit_codes_and_does_not_import_rich_off_a_terminal(
    tmp_path: Path, links: int, code: int
) -> None:
    path = campaign(tmp_path, links) if links else tmp_path / "missing.yaml"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "postdeck.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == code, result.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "postdeck.schemas.validation" in modules or not links
    assert not [m for m in modules if m.split(".")[0] == "rich"]
    messages = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    if links:
        assert "campaign file(s): 1 valid" in result.stdout and "not clickable" in "\n".join(messages)
    else:
        assert messages == [f"{path}: no such file or folder", "no campaign files found"]


def test_a_child_that_fails_has_its_files_checked_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [campaign(tmp_path, 1, name=f"c{i}") for i in range(4)]
    expected = [[str(w) for w in r.warnings] for r in validation.check_files(files, jobs=1)]

    def broken(paths: list[Path], limits: object, now: object = None) -> list:
        raise RuntimeError("the child broke")

    monkeypatch.setattr(validation, "_check_slice", broken)
    reports = validation.check_files(files, jobs=2)
    assert [r.path for r in reports] == files
    assert [[str(w) for w in r.warnings] for r in reports] == expected


def test_children_are_reaped_when_this_process_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [campaign(tmp_path, 1, name=f"c{i}") for i in range(4)]
    started: list[int] = []
    fork = validation._fork

    def fork_and_note(chunk: list[Path], limits: object, now: object = None) -> tuple[int, int] | None:
        child = fork(chunk, limits, now)
        started.extend([child[0]] if child else [])
        return child

    def broken(
        path: Path, renderers: dict | None = None, limits: object = None, now: object = None
    ) -> validation.FileReport:
        raise RuntimeError("this process broke")

    monkeypatch.setattr(validation, "_fork", fork_and_note)
    monkeypatch.setattr(validation, "_check_one", broken)
    with pytest.raises(RuntimeError, match="this process broke"):
        validation.check_files(files, jobs=2)
    assert started
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped
