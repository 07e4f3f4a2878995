"""What a publish reads, and from which commit: git is the source of truth.

- With a `ref` (a branch, tag or commit, resolved to a SHA once, at the start), the campaign's folder
  is read from that commit, never from the working tree.
- Without one, inside a git work tree, the working tree is read and its HEAD is the commit; if the
  files the campaign reads differ from HEAD (edited, staged or untracked), the publish is refused
  unless allowed, and then it is marked `dirty` wherever the commit is shown.
- Outside any repository (a quick local try), the file publishes with no commit.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from postdeck.errors import CampaignError, Location, PostdeckError


class GitError(PostdeckError):
    """git is missing, or cannot answer for this campaign's repository."""


@dataclass(frozen=True)
class Source:
    path: Path  # the campaign file to read (inside a temporary tree when read from a ref)
    commit: str | None  # the full SHA published, None outside a repository
    dirty: bool = False  # the working tree differed from `commit` for files the campaign reads
    # The file is gone at `commit`: `path` is its last version (the parent commit's), read for its
    # name only; what should exist is nothing, so its scheduled posts are cancelled.
    deleted: bool = False

    @property
    def label(self) -> str:
        """`3f2c9a1b`, `3f2c9a1b+dirty`, or `no-commit`: how runs, artifacts and the ledger name it."""
        if self.commit is None:
            return "no-commit"
        return self.commit[:8] + ("+dirty" if self.dirty else "")


def _git(args: list[str], cwd: Path, *, binary: bool = False) -> subprocess.CompletedProcess[Any]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=not binary, timeout=60, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed: it is needed to publish a campaign from a repository") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not answer within 60 s in {cwd}") from None


def repository_of(path: Path) -> Path | None:
    """The top of the git work tree holding `path`, or None outside any repository."""
    folder = path.resolve().parent
    while not folder.is_dir():  # a file deleted from the working tree: its nearest folder's repository
        folder = folder.parent
    try:
        out = _git(["rev-parse", "--show-toplevel"], folder)
    except GitError:
        return None  # no git at all: nothing can be a repository
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def resolve_ref(ref: str, repo: Path, campaign: str) -> str:
    """The SHA `ref` names; a located one-line error when it does not exist (or a shallow clone lacks it)."""
    out = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if out.returncode != 0 or not out.stdout.strip():
        shallow = _git(["rev-parse", "--is-shallow-repository"], repo).stdout.strip() == "true"
        hint = (
            "fetch it (this clone is shallow: git fetch --unshallow)"
            if shallow
            else "use a branch, tag or commit"
        )
        raise CampaignError(f"git ref '{ref}' not found in {repo}", location=Location(campaign), fix=hint)
    return str(out.stdout).strip()


def changed_files(repo: Path, paths: Iterable[Path]) -> list[str]:
    """`git status` lines of these paths that differ from HEAD (modified, staged, deleted, untracked)."""
    relative = sorted({str(p.resolve().relative_to(repo)) for p in paths if p.resolve().is_relative_to(repo)})
    if not relative:
        return []
    out = _git(["status", "--porcelain", "--untracked-files=all", "--", *relative], repo)
    if out.returncode != 0:
        raise GitError(f"git status failed in {repo}: {out.stderr.strip()}")
    return [line for line in out.stdout.splitlines() if line.strip()]


def require_on_branch(repo: Path, commit: str, branch: str, campaign: str) -> None:
    """Refuse a commit that is not on `branch` (a policy: only what was merged is published)."""
    out = _git(["merge-base", "--is-ancestor", commit, branch], repo)
    if out.returncode != 0:
        raise CampaignError(
            f"commit {commit[:8]} is not on {branch}: only merged commits are published here",
            location=Location(campaign),
            fix=f"merge it into {branch} first, or publish a commit of {branch}",
        )


@contextmanager
def campaign_source(campaign: str, ref: str | None) -> Iterator[Source]:
    """The campaign to read: in the working tree (HEAD's commit), or extracted from `ref` with its folder.

    A relative `campaign` is relative to the current folder; with a ref, to the top of the repository
    holding the current folder when the file is not there."""
    path = Path(campaign)
    repo = repository_of(path)
    if not ref:
        commit = resolve_ref("HEAD", repo, campaign) if repo is not None and _has_head(repo) else None
        yield Source(path, commit)
        return
    if repo is None:
        raise CampaignError(
            f"cannot publish git ref '{ref}': {campaign} is not in a git repository",
            location=Location(campaign),
        )
    commit = resolve_ref(ref, repo, campaign)
    inside = _in_repo(path, repo)
    with tempfile.TemporaryDirectory(prefix="postdeck-ref-") as tmp:
        if _extract(repo, commit, inside, Path(tmp)):
            yield Source(Path(tmp) / inside, commit)
            return
        parent = _git(["rev-parse", "--verify", "--quiet", f"{commit}^"], repo).stdout.strip()
        if parent and _extract(repo, parent, inside, Path(tmp)):
            yield Source(Path(tmp) / inside, commit, deleted=True)
            return
        raise CampaignError(f"{campaign} does not exist at {ref}", location=Location(campaign))


def _extract(repo: Path, commit: str, inside: PurePosixPath, into: Path) -> bool:
    """The campaign's folder at `commit`, written under `into`; whether the campaign file is there."""
    folder = str(inside.parent)
    listed = _git(["ls-tree", "--name-only", commit, "--", str(inside)], repo)
    if listed.returncode != 0 or not listed.stdout.strip():
        return False
    archive = _git(["archive", "--format=tar", commit, "--", folder], repo, binary=True)
    if archive.returncode != 0:
        raise CampaignError(
            f"cannot read {folder} at {commit[:8]}: {archive.stderr.decode(errors='replace').strip()}",
            location=Location(str(inside)),
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")  # the data filter refuses links and paths out of `into`
    return (into / inside).is_file()


def _has_head(repo: Path) -> bool:
    return _git(["rev-parse", "--verify", "--quiet", "HEAD"], repo).returncode == 0


def _in_repo(path: Path, repo: Path) -> PurePosixPath:
    """The campaign's path inside the repository (as `git archive` names it)."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return PurePosixPath(absolute.resolve().relative_to(repo).as_posix())
    except ValueError:
        return PurePosixPath(path.as_posix())  # relative to the top, though not under this folder


def file_commit(path: Path) -> tuple[str | None, bool]:
    """The commit a file is read at outside a publish (a post's or a retry's file): HEAD when HEAD has
    the file, with whether the working file differs from it; (None, False) when no commit has it
    (outside any repository, untracked, ignored) or git cannot tell."""
    try:
        repo = repository_of(path)
        if repo is None or not _has_head(repo) or not path.resolve().is_relative_to(repo):
            return None, False
        inside = str(path.resolve().relative_to(repo))
        listed = _git(["ls-tree", "--name-only", "HEAD", "--", inside], repo)
        if listed.returncode != 0 or not listed.stdout.strip():
            return None, False
        return resolve_ref("HEAD", repo, str(path)), bool(changed_files(repo, [path]))
    except PostdeckError:  # git missing or failing: a run without a commit, not a refusal
        return None, False


def check_clean(source: Source, reads: Iterable[Path], *, allow_dirty: bool, campaign: str) -> Source:
    """Refuse (or, allowed, mark) a working-tree publish whose files differ from its commit."""
    if source.commit is None:
        return source
    repo = repository_of(source.path)
    changed = changed_files(repo, [source.path, *reads]) if repo is not None else []
    if not changed:
        return source
    if not allow_dirty:
        shown = "; ".join(changed[:5]) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise CampaignError(
            f"uncommitted changes in what this campaign reads ({shown}): publishing applies a reviewed commit",
            location=Location(campaign),
            fix="commit them (and get them reviewed), or publish with --allow-dirty",
        )
    return Source(source.path, source.commit, dirty=True)
