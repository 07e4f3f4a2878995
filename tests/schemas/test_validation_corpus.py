"""The bad-campaign corpus: each file has one defect, reported once, at the stated line, with the
stated message (see tests/bad_campaigns/README.md)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from postdeck.core.platform import Platform
from postdeck.schemas.validation import check_file

CORPUS = Path(__file__).parents[1] / "bad_campaigns"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+): (.+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the corpus with the media too big to commit."""
    folder = tmp_path_factory.mktemp("corpus") / "bad_campaigns"
    shutil.copytree(CORPUS, folder)
    jpeg = (folder / "media/square.jpg").read_bytes()
    for name, size in (("big-6mb.jpg", 6_000_000), ("big-1100kb.jpg", 1_100_000)):
        (folder / "media" / name).write_bytes(jpeg + b"\0" * (size - len(jpeg)))  # a JPEG, padded
    Image.new("1", (6100, 6000)).save(folder / "media/huge-pixels.png")
    return folder


def expectation(path: Path) -> tuple[int, str]:
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name}: the first line must be '# expect: <line>: <message fragment>'"
    return int(match.group(1)), match.group(2)


@pytest.mark.parametrize("name", [f.name for f in FILES])
def test_each_bad_campaign_fails_once_at_the_stated_line(corpus: Path, name: str) -> None:
    path = corpus / name
    line, fragment = expectation(path)
    errors = check_file(path).errors
    assert [str(e) for e in errors] and len(errors) == 1, [str(e) for e in errors]
    [error] = errors
    assert error.location.path == str(path)
    assert error.location.line == line, str(error)
    assert error.location.column is not None and error.location.column >= 1
    assert fragment in error.message, str(error)
    assert error.field, "every error names its field"
    assert error.fix, "every error says what to change"


def test_the_corpus_is_large_and_covers_every_platform() -> None:
    assert len(FILES) >= 40
    named = {p for p in Platform if any(f"-{p.value}-" in f.name for f in FILES)}
    assert named == set(Platform)


def test_valid_examples_pass() -> None:
    examples = sorted((Path(__file__).parents[2] / "campaigns").glob("*.yaml"))
    assert len(examples) >= 2
    for example in examples:
        report = check_file(example)
        assert report.ok, [str(e) for e in report.errors]
        assert report.prepared
