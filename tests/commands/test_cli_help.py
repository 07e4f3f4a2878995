"""Every everyday command explains itself: `--help` with an example."""

from __future__ import annotations

import pytest

from tests.service.test_service_harness import run_cli

COMMANDS = [
    ["post"],
    ["accounts"],
    ["connect"],
    ["history"],
    ["runs"],
    ["retry"],
    ["cancel"],
    ["resolve"],
    ["campaign", "new"],
    ["credentials", "set"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example(capsys, command: list[str]) -> None:
    result = run_cli(capsys, *command, "--help")
    assert result.code == 0
    assert "Example: postdeck " + command[0] in " ".join(result.out.split())
