"""`main` runs an app holding only the command named on the command line (typer would build every
command at each start): its help, usage errors, output and exit codes are the whole app's."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from postdeck.cli import _command_name, app, app_for

runner = CliRunner()

NAMES = sorted({_command_name(c) for c in app.registered_commands} | {g.name for g in app.registered_groups})

CASES = [
    *([name, "--help"] for name in NAMES),
    [],
    ["--help"],
    ["valid"],
    ["validate"],
    ["validate", "--nope", "x"],
    ["validate", "/nonexistent"],
    ["validate", "-q", "campaigns"],
    ["validate", "tests/bad_campaigns/01-language-unknown-field.yaml"],
    ["plan"],
    ["plan", "campaigns/example.yaml", "--format", "markdown"],
    ["plan", "campaigns/example.yaml", "--format", "nope"],
    ["credentials"],
]


def test_every_command_is_found_by_its_name() -> None:
    assert {"validate", "plan", "publish", "credentials", "ledger"} <= set(NAMES)
    for name in NAMES:
        only = app_for([name, "--help"])
        assert only is not app and len(only.registered_commands) + len(only.registered_groups) == 1


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_the_one_command_app_answers_as_the_whole_app(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    whole = runner.invoke(app, args)
    one = runner.invoke(app_for(args), args)
    assert (one.exit_code, one.output) == (whole.exit_code, whole.output)
