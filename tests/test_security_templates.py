"""Template and campaign-file attacks are blocked: each ends as a CampaignError at the caption (or the
file), quickly and in little memory, never as a crash, a hang, or a huge caption.

Attribute walks, include escapes and include cycles are rendered here, in this process. The resource
attacks (huge loops, lipsum, powers, memory bombs, YAML alias bombs) run each in a process of its own
with a CPU-time and an address-space limit, all at once: a case that runs out of CPU time is a hang.
Those that are not blocked today are marked xfail(strict) with the reason, so that the fix flips them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postdeck.errors import CampaignError, CampaignErrors, Location
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.render import Renderer
from postdeck.schemas.validation import check_file
from tests.conftest import REPO

LOCATION = Location("campaigns/attack.yaml", 7, 5)
VARIABLES = {"brand": "Northside", "caption": "Spring", "items": ["a", "b"]}

# --- attribute walks to Python internals -------------------------------------------------------

WALKS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ caption.__class__ }}",
    "{{ caption|attr('__class__') }}",
    "{{ caption.__len__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ {}.__class__.__subclasses__() }}",
    "{{ dict.mro() }}",
    "{{ range.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ lipsum|attr('__globals__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ joiner().__call__.__func__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ namespace.__mro__ }}",
    "{{ self.__init__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__}'.format(caption) }}",
    "{{ '{0.__init__.__globals__}'.format(caption) }}",
    "{{ [caption]|selectattr('__class__')|list }}",
    "{{ [caption]|sum(attribute='__class__') }}",
    "{{ [caption]|map(attribute='__class__.__mro__')|list }}",
    "{{ items.pop.__self__.__class__ }}",
    "{% set f = caption.__class__ %}{{ f }}",
]


@pytest.mark.parametrize("source", WALKS)
def test_attribute_walks_to_python_internals_are_refused(source: str) -> None:
    with pytest.raises(CampaignError) as caught:
        Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption")
    error = caught.value
    assert error.location == LOCATION and error.field == "caption"
    assert "not allowed" in error.message or "unsafe" in error.message or "undefined" in error.message


def test_no_walk_reaches_a_module_or_a_class_in_the_output() -> None:
    """Walks the sandbox turns into Undefined instead of refusing still show nothing of Python."""
    for source in (
        "{{ [caption]|map(attribute='__class__')|list }}",
        "{{ [caption]|groupby('__class__') }}",
        "{{ caption.format_map({}) }}",
    ):
        out = Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption")
        assert "class" not in out and "module" not in out and "<" not in out, out


# --- includes ------------------------------------------------------------------------------------


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("the recipe")
    files = {
        "self.j2": "{% include 'self.j2' %}",
        "a.j2": "A {% include 'b.j2' %}",
        "b.j2": "B {% include 'c.j2' %}",
        "c.j2": "C {% include 'a.j2' %}",
        "base.j2": "{% extends 'child.j2' %}",
        "child.j2": "{% extends 'base.j2' %}",
        "imports.j2": "{% import 'imports.j2' as me %}{{ me }}",
        "fine.j2": "— {{ brand }}",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    os.symlink(tmp_path / "secret.txt", folder / "leak.j2")
    os.symlink(tmp_path, folder / "up")
    return folder


INCLUDES = [
    ("{% include 'self.j2' %}", "include each other"),
    ("{% include 'a.j2' %}", "include each other"),
    ("{% include 'base.j2' %}", "include each other"),
    ("{% extends 'child.j2' %}", "include each other"),
    ("{% include 'imports.j2' %}", "include each other"),
    ("{% from 'self.j2' import x %}", "include each other"),
    ("{% include '../secret.txt' %}", "not a plain relative name"),
    ("{% include '/etc/passwd' %}", "not a plain relative name"),
    ("{% include 'sub/../../secret.txt' %}", "not a plain relative name"),
    ("{% include 'leak.j2' %}", "leaves the templates folder"),
    ("{% include 'up/secret.txt' %}", "leaves the templates folder"),
    ("{% include brand %}", "literal strings"),
    ("{% include ['fine.j2', brand] %}", "literal strings"),
    ("{% include 'fine.j2' if true else 'x' %}", "literal strings"),
    ("{% include 'nope.j2' %}", "template not found"),
]


@pytest.mark.parametrize(("source", "reason"), INCLUDES)
def test_include_cycles_escapes_and_computed_names_are_refused(
    templates: Path, source: str, reason: str
) -> None:
    with pytest.raises(CampaignError, match=reason) as caught:
        Renderer(templates).render(source, dict(VARIABLES), location=LOCATION, field="caption")
    assert caught.value.location.path == LOCATION.path
    assert "the recipe" not in str(caught.value)


def test_a_plain_include_still_renders(templates: Path) -> None:
    assert Renderer(templates).render(
        "Hi {% include 'fine.j2' %}", dict(VARIABLES), location=LOCATION, field="c"
    ) == ("Hi — Northside")


def test_a_range_too_big_for_the_sandbox_is_refused() -> None:
    with pytest.raises(CampaignError, match="Range too big"):
        Renderer().render("{{ range(10**9)|length }}", {}, location=LOCATION, field="caption")


def test_unbounded_recursion_is_refused() -> None:
    with pytest.raises(CampaignError, match="recurses too deeply"):
        Renderer().render(
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {}, location=LOCATION, field="caption"
        )


# --- resource attacks, each in a process with limits --------------------------------------------

CPU_SECONDS = 3  # imports take well under one; a blocked attack ends in milliseconds
MEMORY_BYTES = 2 * 1024**3
PEAK_MB_ALLOWED = 400  # a blocked attack never builds a big value (the child alone peaks near 60 MB)

CHILD = r"""
import json, resource, sys, tempfile
from pathlib import Path

spec = json.loads(sys.argv[1])


def peak_mb():
    # VmHWM: this process's own peak. ru_maxrss would include the pytest process it was started
    # from (Linux keeps the parent's high-water mark across fork and exec).
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

resource.setrlimit(resource.RLIMIT_CPU, (spec["cpu"], spec["cpu"] + 1))
resource.setrlimit(resource.RLIMIT_AS, (spec["memory"], spec["memory"]))
from postdeck.errors import CampaignError, CampaignErrors, Location

folder = Path(tempfile.mkdtemp(prefix="postdeck-attack-"))
try:
    if spec["kind"] == "template":
        from postdeck.schemas.render import Renderer

        out = Renderer().render(spec["source"], {"caption": "Spring", "items": ["a"]},
                                location=Location("attack.yaml", 7, 5), field="caption")
        result = {"outcome": "rendered", "length": len(out)}
    else:
        from postdeck.schemas.loader import load_campaign
        from postdeck.schemas.validation import check_file

        path = folder / "attack.yaml"
        path.write_text(spec["source"])
        errors = check_file(path).errors
        load_campaign(path)
        result = {"outcome": "rendered", "length": 0}
except CampaignError as exc:
    errors = exc.errors if isinstance(exc, CampaignErrors) else [exc]
    result = {"outcome": "refused", "messages": [str(e) for e in errors][:3],
              "located": all(bool(e.location.path) for e in errors)}
except BaseException as exc:
    result = {"outcome": "crash", "error": type(exc).__name__ + ": " + str(exc)[:200]}
result["peak_mb"] = peak_mb()
print(json.dumps(result))
"""


def alias_bomb(levels: int = 12) -> str:
    lines = ["  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return (
        "name: bomb\nvars:\n" + "\n".join(lines) + "\nbatches: [{id: a, caption: hi, platforms: [twitter]}]\n"
    )


def nested(depth: int) -> str:
    return f"name: deep\nvars: {{x: {'[' * depth}{']' * depth}}}\nbatches: [{{id: a, caption: hi, platforms: [twitter]}}]\n"


RENDER_BUG = "schemas/render.py has no loop/call/size budget (see the fix in the issue-9 report)"
SOURCE_BUG = "schemas/source.py _build expands YAML aliases and recurses without a depth limit"
ATTACKS = {
    "nested loops of 10^10 steps": (
        "template",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        RENDER_BUG,
    ),
    "lipsum of a million paragraphs": ("template", "{{ lipsum(1000000)|length }}", RENDER_BUG),
    "a power with a billion-digit result": ("template", "{{ (10 ** (10 ** 9)) % 7 }}", RENDER_BUG),
    "macros calling themselves twice, 40 deep": (
        "template",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        RENDER_BUG,
    ),
    "a list grown while it is looped over": (
        "template",
        "{% set l = [1] %}{% for x in l %}{{ l.append(x) }}{% endfor %}",
        RENDER_BUG,
    ),
    "a 100 MB caption by multiplication": ("template", "{{ 'x' * 10**8 }}", RENDER_BUG),
    "a 100 MB caption by center()": ("template", "{{ caption|center(10**8) }}", RENDER_BUG),
    "a 100 MB caption by a format width": ("template", "{{ '{:>100000000}'.format(caption) }}", RENDER_BUG),
    "a YAML alias bomb (10^12 items)": ("campaign", alias_bomb(), SOURCE_BUG),
    "YAML nested 5,000 deep": ("campaign", nested(5000), SOURCE_BUG),
    # Already blocked: kept here so that a regression shows up as a hang, not a stuck CI job.
    "a range past the sandbox's limit": ("template", "{{ range(10**9)|length }}", None),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict]:
    """Every attack at once, each in its own limited process: name → what happened."""
    processes = {}
    for name, (kind, source, _bug) in ATTACKS.items():
        spec = {"kind": kind, "source": source, "cpu": CPU_SECONDS, "memory": MEMORY_BYTES}
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes[name] = process
    results = {}
    for name, process in processes.items():
        try:
            out, err = process.communicate(timeout=120)  # a backstop only: the CPU limit ends hangs
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        lines = out.strip().splitlines()
        if process.returncode == 0 and lines:
            results[name] = json.loads(lines[-1])
        else:
            results[name] = {
                "outcome": "hang" if process.returncode in (-24, -9) else "died",
                "code": process.returncode,
                "stderr": err[-300:],
            }
    return results


def _cases() -> list:
    cases = []
    for name, (_kind, _source, bug) in ATTACKS.items():
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        cases.append(pytest.param(name, id=name, marks=marks))
    return cases


@pytest.mark.parametrize("name", _cases())
def test_resource_attacks_end_as_a_located_error_in_little_memory(
    verdicts: dict[str, dict], name: str
) -> None:
    verdict = verdicts[name]
    assert verdict["outcome"] == "refused", verdict
    assert verdict["located"] and verdict["peak_mb"] < PEAK_MB_ALLOWED, verdict


def test_moderate_nesting_and_aliases_still_load(tmp_path: Path) -> None:
    """What the limits must keep allowing: 50 levels of nesting, an alias used a few times."""
    path = tmp_path / "ok.yaml"
    path.write_text(nested(50).replace("vars: {x:", "vars: {tags: &tags [a, b], again: *tags, x:"))
    loaded = load_campaign(path)
    assert loaded.campaign.vars["again"] == ["a", "b"]


# --- campaign-file crashes found by fuzzing ------------------------------------------------------


def test_an_overlong_timezone_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "tz.yaml"
    path.write_text(
        "name: tz\ntimezone: " + "a" * 300 + "\nbatches: [{id: a, caption: hi, platforms: [twitter]}]\n"
    )
    with pytest.raises(CampaignErrors) as caught:
        load_campaign(path)
    assert caught.value.location.line == 2 and "timezone" in str(caught.value)
    assert [str(e.location.path) for e in check_file(path).errors] == [str(path)]
