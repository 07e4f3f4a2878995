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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--nope"], "No such option: --nope"),
        (["sandbox", "--tick", "abc"], "Invalid value for '--tick'"),
        (["plan", "campaigns/example.yaml", "--format", "nope"], "Invalid value for '--format'"),
    ],
    ids=["unknown-option", "not-a-number", "not-a-choice"],
)
def test_the_entry_point_shows_a_usage_error_not_a_traceback(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`postdeck` as installed (main(), not CliRunner): a bad option or value is a usage error, exit 2."""
    from postdeck.cli import main

    monkeypatch.setattr("sys.argv", ["postdeck", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and message in err and "Traceback" not in err
