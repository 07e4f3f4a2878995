"""Where a flow run reads its campaign: the working tree, or a git ref (e.g. the merged commit)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from postdeck.errors import CampaignError, Location


def git_commit(ref: str | None = None, cwd: Path | None = None) -> str | None:
    """The commit a ref (default HEAD) points at, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref or 'HEAD'}^{{commit}}"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


@contextmanager
def campaign_source(campaign: str, ref: str | None) -> Iterator[Path]:
    """Yield the campaign file's path: in the working tree, or extracted from `ref` with its folder."""
    if not ref:
        yield Path(campaign)
        return
    commit = git_commit(ref)
    if commit is None:
        raise CampaignError(
            f"git ref '{ref}' not found", location=Location(campaign), fix="use a branch, tag or commit"
        )
    folder = str(PurePosixPath(campaign).parent)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "--", folder], capture_output=True, timeout=60, check=False
    )
    if archive.returncode != 0:
        raise CampaignError(
            f"cannot read {folder} at {ref}: {archive.stderr.decode(errors='replace').strip()}",
            location=Location(campaign),
        )
    with tempfile.TemporaryDirectory(prefix="postdeck-ref-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")  # the data filter refuses links and paths out of tmp
        path = Path(tmp) / campaign
        if not path.is_file():
            raise CampaignError(f"{campaign} does not exist at {ref}", location=Location(campaign))
        yield path
