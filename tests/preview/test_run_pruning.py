"""The runs folder keeps the newest POSTDECK_RUNS_KEPT run folders: older runs' sites go after each
run, and nothing that is not a run's own folder is ever removed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from postdeck.preview.run_pruning import prune_run_folders
from tests.conftest import REPO


def runs(where: Path, count: int) -> list[Path]:
    """`count` run folders in `where`, oldest first (modification times a minute apart)."""
    folders = []
    for age in range(count, 0, -1):
        folder = where / str(uuid.uuid4())
        (folder / "preview").mkdir(parents=True)
        (folder / "preview" / "index.html").write_text("<html></html>")
        os.utime(folder, (1_900_000_000 - age * 60, 1_900_000_000 - age * 60))
        folders.append(folder)
    return folders


def test_the_oldest_runs_beyond_the_kept_number_go(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    folders = runs(shared, 5)
    (shared / "notes").mkdir()  # not a run's folder: a runs folder pointed at a shared place
    (shared / "README.txt").write_text("mine")
    current = folders[-1].name
    removed = prune_run_folders(shared, 3, current=current)
    assert sorted(removed) == sorted(folders[:2])
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        [*(f.name for f in folders[2:]), "notes", "README.txt"]
    )


def test_the_run_writing_now_is_kept_even_when_it_looks_oldest(tmp_path: Path) -> None:
    folders = runs(tmp_path / "runs", 3)
    prune_run_folders(tmp_path / "runs", 1, current=folders[0].name)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [folders[0].name]


def test_zero_keeps_every_run_and_a_missing_folder_is_nothing_to_prune(tmp_path: Path) -> None:
    folders = runs(tmp_path, 4)
    assert prune_run_folders(tmp_path, 0, current="") == []
    assert all(f.is_dir() for f in folders)
    assert prune_run_folders(tmp_path / "absent", 2, current="") == []


@pytest.mark.usefixtures("prefect_api")
def test_a_publish_run_prunes_the_runs_folder(
    isolated_postdeck: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postdeck.flows.params import PublishParams
    from postdeck.flows.publish import publish_campaign

    monkeypatch.setenv("POSTDECK_RUNS_KEPT", "2")
    old = runs(isolated_postdeck / "runs", 3)
    campaign = str(REPO / "campaigns" / "spring-launch.yaml")
    state = publish_campaign(
        params=PublishParams(campaign=campaign, sandbox=True, dry_run=True), return_state=True
    )
    kept = sorted(p.name for p in (isolated_postdeck / "runs").iterdir())
    assert kept == sorted([old[-1].name, str(state.state_details.flow_run_id)])
