"""The CLI's habits: --version and -h, JSON output, GitHub annotations, output that survives a pipe."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.service.test_service_harness import run_cli

BAD = REPO / "tests/bad_campaigns/01-language-unknown-field.yaml"


def test_version_and_short_help(capsys: pytest.CaptureFixture[str]) -> None:
    shown = run_cli(capsys, "--version")
    assert shown.code == 0 and shown.out.strip() == f"postdeck {version('postdeck')}"
    for args in (["-h"], ["validate", "-h"], ["server", "-h"]):
        helped = run_cli(capsys, *args)
        assert helped.code == 0 and "Usage: " in helped.out and "Options" in helped.out


def test_validate_json_names_file_line_column_and_field(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "validate", str(BAD), "--format", "json")
    document = json.loads(result.out)
    assert result.code == 1 and document["valid"] is False
    (finding,) = document["files"][0]["findings"]
    assert finding == {
        "severity": "error",
        "file": str(BAD),
        "line": 7,
        "column": 14,
        "field": "batches[0].captoin",
        "message": "unknown field",
        "fix": "remove it or check its spelling",
    }
    good = run_cli(capsys, "validate", str(REPO / "campaigns/example.yaml"), "--format", "json")
    assert good.code == 0 and json.loads(good.out)["valid"] is True


def test_validate_in_github_actions_writes_annotations(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli(capsys, "validate", str(BAD))
    assert result.code == 1
    assert (
        f"::error file={BAD},line=7,col=14,title=batches[0].captoin::unknown field (remove it or check its spelling)"
        in result.out.splitlines()
    )


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli(capsys, "validate", str(BAD), "--format", "xml").code == 2
