"""Two campaign files of one name (in one folder, or checked together) are refused by validate, plan
and publish, each error naming both files: they would share their deliveries' keys in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from postdeck.schemas.campaign_names import name_clashes
from tests.service.test_service_harness import run_cli

CAMPAIGN = "# {note}\nname: {name}\ntimezone: UTC\nbatches:\n  - id: a\n    caption: hello\n    platforms: [bluesky]\n"


def write(folder: Path, file: str, name: str, note: str = "a campaign") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(CAMPAIGN.format(name=name, note=note))
    return path


def test_two_files_of_one_folder_with_one_name_are_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path / "campaigns", "spring.yaml", "spring")
    second = write(tmp_path / "campaigns", "spring-copy.yaml", "'spring'  # copied")
    write(tmp_path / "campaigns", "autumn.yaml", "autumn")
    run = run_cli(capsys, "validate", str(tmp_path / "campaigns"))
    text = run.out + run.err
    assert run.code == 1 and "2 invalid" in text, text
    assert f"{first}:2:1: name: campaign name 'spring' is also the name of {second}:2" in text
    assert f"{second}:2:1: name: campaign name 'spring' is also the name of {first}:2" in text
    assert "autumn.yaml:2" not in text
    # One file of the two, alone: its neighbour is still found, for validate, plan and publish.
    for command in (["validate"], ["plan"], ["publish", "--dry-run", "--sandbox"]):
        run = run_cli(capsys, *command, str(first))
        assert run.code == 1 and f"also the name of {second}:2" in run.out + run.err, (command, run)


def test_files_given_together_from_two_folders_clash_too(tmp_path: Path, capsys) -> None:
    one = write(tmp_path / "one", "c.yaml", "shared")
    two = write(tmp_path / "two", "c.yaml", "shared")
    errors = name_clashes([one, two])
    assert [(e.location.path, e.location.line, e.field) for e in errors] == [
        (str(one), 2, "name"),
        (str(two), 2, "name"),
    ]
    assert str(two) in errors[0].message and str(one) in errors[1].message and errors[0].fix
    # Each alone, in its own folder, is fine.
    assert name_clashes([one]) == [] and name_clashes([two]) == []
    assert run_cli(capsys, "validate", str(one)).code == 0


def test_two_owners_may_each_have_a_campaign_of_one_name(tmp_path: Path) -> None:
    """Their deliveries are keyed by owner: they share nothing in the ledger."""
    folder = tmp_path / "campaigns"
    alice = folder / "alice.yaml"
    folder.mkdir()
    alice.write_text(
        "owner: 00000000-0000-4000-8000-00000000A11C\n" + CAMPAIGN.format(name="launch", note="a")
    )
    bob = folder / "bob.yaml"
    bob.write_text("owner: 00000000-0000-4000-8000-000000000b0b\n" + CAMPAIGN.format(name="launch", note="b"))
    assert name_clashes([alice, bob]) == []
    # The same owner spelt in another case is one owner: those two would share their keys.
    again = folder / "alice-again.yaml"
    again.write_text(
        "owner: '00000000-0000-4000-8000-00000000a11c'\n" + CAMPAIGN.format(name="launch", note="c")
    )
    assert [e.location.path for e in name_clashes([alice])] == [str(alice)]
    assert str(again) in name_clashes([alice])[0].message


def test_distinct_names_and_files_without_a_plain_name_pass(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    a = write(folder, "a.yaml", "alpha")
    write(folder, "b.yaml", "beta")
    (folder / "notes.txt").write_text("name: alpha\n")  # not a campaign file
    (folder / "templates").mkdir()
    (folder / "templates" / "x.yaml").write_text("name: alpha\n")  # a subfolder: another namespace
    (folder / "broken.yaml").write_text("  name: alpha\nnot: [closed\n")  # not a top-level name
    assert name_clashes([a]) == []


def test_plan_at_a_git_ref_finds_the_clash_in_that_commit(tmp_path: Path, capsys) -> None:
    import subprocess

    repo = tmp_path / "repo"
    first = write(repo / "campaigns", "spring.yaml", "spring")
    write(repo / "campaigns", "copy.yaml", "spring")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "two of one name")
    (repo / "campaigns" / "copy.yaml").unlink()  # gone from the working tree, still in the commit
    assert run_cli(capsys, "plan", str(first)).code == 0
    run = run_cli(capsys, "plan", str(first), "--ref", "HEAD")
    assert (
        run.code == 1 and "campaign name 'spring' is also the name of" in run.err and "copy.yaml:2" in run.err
    )
