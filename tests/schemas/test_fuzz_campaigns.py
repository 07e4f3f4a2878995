"""Hypothesis: generated campaign files, shaped like campaigns and not, through `validate` (check_file)
and the publish path (load_campaign → expand). The only outcomes allowed: a valid campaign, or
CampaignErrors whose every error points into the file. No other exception; no hang (deadlines, and
pytest-timeout around each property).

Sizes and numbers are kept small on purpose: the known resource attacks (YAML alias bombs, nesting
thousands deep) are the security tests' business (test_security_templates.py), each pinned there.
"""

from __future__ import annotations

import atexit
import random
import shutil
import string
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

from postdeck.errors import CampaignError, CampaignErrors
from postdeck.schemas.deliveries import expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.validation import check_file
from tests.conftest import REPO
from tests.fuzzing import run_counted

pytestmark = pytest.mark.slow  # left out of `make test-fast`

FOLDER = Path(tempfile.mkdtemp(prefix="postdeck-fuzz-"))  # one folder for every example of the module
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
(FOLDER / "media").mkdir()
(FOLDER / "media" / "roast.jpg").write_bytes((REPO / "campaigns/media/spring-roast.jpg").read_bytes())
(FOLDER / "media" / "notes.txt").write_text("not an image")
(FOLDER / "media" / "spring-roast.jpg").write_bytes((REPO / "campaigns/media/spring-roast.jpg").read_bytes())
(FOLDER / "templates").mkdir()
for included in (REPO / "campaigns" / "templates").iterdir():
    (FOLDER / "templates" / included.name).write_text(included.read_text(encoding="utf-8"), encoding="utf-8")
(FOLDER / "templates" / "sig.j2").write_text("— {{ brand | default('us') }}")
(FOLDER / "templates" / "loop.j2").write_text("{% include 'loop.j2' %}")
CAMPAIGN = FOLDER / "fuzz.yaml"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

PLATFORMS = [
    "twitter",
    "bluesky",
    "threads",
    "instagram",
    "facebook",
    "linkedin",
    "tiktok",
    "youtube",
    "pinterest",
]

# --- strategies ---------------------------------------------------------------------------------
# Mostly one draw per field, from pools of right and wrong values: cheap to generate, so that the
# thousands of cases go to the code under test rather than to building them.

JUNK: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    10**20,
    1.5,
    float("nan"),
    float("inf"),
    "",
    " ",
    "x",
    "ünïcødé ☕",
    "a" * 200,
    "\u202e",
    "\x00",
    "{{ brand }}",
    "[1, 2]",
    date(2030, 1, 1),
    datetime(2030, 1, 1, 9),
    datetime(1, 1, 1),
    [],
    [None],
    ["twitter"],
    [[1]],
    {},
    {"a": 1},
    {"template": 3},
    {"": None},
    {"nested": {"deeper": [1, {"x": None}]}},
    ["a", {"b": [1.5, None]}],
]
anything = st.sampled_from(JUNK) | st.text(max_size=8) | st.integers(-5, 10**6)
slugs = st.sampled_from(
    ["spring", "b-1", "a", "x" * 63, "x" * 64, "Bad", "-lead", "ok-2", "ünï", "a b", "é", "9"]
) | st.text(alphabet="abc-19Z_ ", min_size=1, max_size=6)
TEMPLATES = [
    "Hello",
    "{{ brand }} is here",
    "{{ caption }} {% include 'sig.j2' %}",
    "{% include 'loop.j2' %}",
    "{% include '../fuzz.yaml' %}",
    "{% include brand %}",
    "{{ missing }}",
    "{{ brand.__class__ }}",
    "{{ brand|attr('__class__') }}",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "{% if platform == 'twitter' %}tw{% else %}other{% endif %}",
    "{{ 1 / 0 }}",
    "{{ vars }}",
    "{{",
    "{% endfor %}",
    "{# open comment",
    "x" * 400,
    "#tag @mention https://example.com/a?b=c $CASH",
    "🚀 ☕ é \u200d",
    "line one\nline two\r\nthree",
]
templates = st.sampled_from(TEMPLATES) | st.text(alphabet=string.printable + "{}%#é☕", max_size=30)
times = st.sampled_from(
    [
        "2030-01-01 09:00",
        "2001-01-01",
        "2030-02-30 10:00",
        "tomorrow",
        "2030-01-01T09:00Z",
        "2030-01-01 25:00",
        date(2030, 6, 1),
        datetime(2030, 6, 1, 12),
        datetime(1999, 1, 1),
        1893456000,
        None,
    ]
)
media = st.lists(
    st.sampled_from(
        [
            "media/roast.jpg",
            "media/notes.txt",
            "media/missing.png",
            "media",
            "../outside.jpg",
            "/etc/passwd",
            "https://cdn.example.com/a.jpg",
            "http://cdn.example.com/a.jpg",
            "https://127.0.0.1/a.jpg",
            "https://[::1]/a.jpg",
            "https://localhost/a.jpg",
            "https://user:pw@cdn.example.com/a.jpg",
            "",
            7,
        ]
    ),
    max_size=3,
)
platform_lists = st.lists(st.sampled_from([*PLATFORMS, "x", "myspace", ""]), max_size=4) | anything
OPTION_NAMES = [
    "template",
    "truncate",
    "caption",
    "board",
    "privacy",
    "title",
    "page",
    "placement",
    "handle",
    "link",
    "bogus",
]
options = st.dictionaries(st.sampled_from(OPTION_NAMES), templates | anything, max_size=2) | anything
variables = (
    st.sampled_from([{}, {"brand": "B"}, {"roast": ["a", "b"]}, {"n": 3}, {"x": None}, {"caption": {"a": 1}}])
    | anything
)


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    batch: dict[str, Any] = {"id": draw(slugs), "caption": draw(templates)}
    for name, value in (
        ("at", times),
        ("media", media),
        ("platforms", platform_lists),
        ("style", slugs),
        ("vars", variables),
        ("truncate", st.booleans() | anything),
        ("late", st.sampled_from(["skip", "publish_now", "fail", "later"])),
    ):
        if draw(st.booleans()):
            batch[name] = draw(value)
    if draw(st.booleans()):
        batch[draw(st.sampled_from(PLATFORMS))] = draw(options)
    return batch


@st.composite
def campaigns(draw: st.DrawFn) -> Any:
    doc: dict[str, Any] = {
        "name": draw(slugs),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "Mars/Olympus", "", "+02:00"]) | anything),
        "vars": {"brand": "Northside", "caption": "cap"} if draw(st.booleans()) else draw(variables),
        "defaults": {"platforms": draw(platform_lists)},
        "batches": draw(st.lists(batches(), max_size=3)),
    }
    if draw(st.booleans()):
        doc["cadence"] = {
            "start": draw(times),
            "every": draw(st.sampled_from(["6h", "0m", "1d12h", "soon"]) | anything),
        }
    if draw(st.booleans()):
        doc["styles"] = {draw(slugs): draw(options)}
    if draw(st.booleans()):
        doc["accounts"] = {draw(st.sampled_from([*PLATFORMS, "x"])): draw(options)}
    for _ in range(draw(st.integers(0, 2))):  # a few wrong keys or values anywhere on top
        doc[draw(st.sampled_from(["name", "late", "owner", "batches", "defaults", "extra"]))] = draw(anything)
    return doc


def dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=DUMPER, allow_unicode=True, sort_keys=False, default_flow_style=False)


BASES = [
    (REPO / "campaigns" / name).read_text(encoding="utf-8") for name in ("example.yaml", "spring-launch.yaml")
]


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A real campaign's text with characters cut, doubled or changed: broken YAML of every sort."""
    text = draw(st.sampled_from(BASES))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        at = rng.randrange(len(text) + 1)
        choice = rng.random()
        if choice < 0.3:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        elif choice < 0.6:
            text = text[:at] + rng.choice(INSERTS) + text[at:]
        else:
            text = text[:at] + text[at : at + 20] + text[at:]
    return text


INSERTS = [
    "\t",
    ":",
    "- ",
    "{",
    "[",
    "'",
    '"',
    "&a ",
    "*a",
    "!!python/object ",
    "%",
    "\n  ",
    "?",
    "|",
    "\x00",
    "\ufeff",
    "<<: ",
]


# --- the property ---------------------------------------------------------------------------------


def check_text(text: str) -> None:
    CAMPAIGN.write_text(text, encoding="utf-8", errors="surrogatepass")
    report = check_file(CAMPAIGN)
    for error in report.errors + report.warnings:
        assert_located(error)
    try:
        loaded = load_campaign(CAMPAIGN)
        deliveries = expand(loaded)
    except CampaignError as exc:
        for error in exc.errors if isinstance(exc, CampaignErrors) else [exc]:
            assert_located(error)
        return
    for delivery in deliveries:
        assert delivery.campaign == loaded.campaign.name
        assert delivery.at is None or delivery.at.utcoffset() == timedelta(0)


def assert_located(error: CampaignError) -> None:
    assert isinstance(error, CampaignError)
    assert error.location.path == str(CAMPAIGN), error
    assert error.message, error


def test_campaign_shaped_files_are_valid_or_located_errors() -> None:
    assert run_counted(campaigns().map(dump), 1000, check_text) >= 1000


def test_broken_yaml_is_a_located_error() -> None:
    assert run_counted(mutated_text(), 700, check_text) >= 700


def test_arbitrary_text_is_a_located_error() -> None:
    assert (
        run_counted(
            st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
            400,
            check_text,
        )
        >= 400
    )
