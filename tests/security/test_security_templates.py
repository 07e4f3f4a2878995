"""Template and campaign-file attacks are blocked: each ends as a CampaignError at the caption (or the
file), quickly and in little memory, never as a crash, a hang, or a huge caption.

Attribute walks, include escapes and include cycles are rendered here, in this process. The resource
attacks (huge loops, lipsum, powers, memory bombs, YAML alias bombs) run each in a process of its own
with a CPU-time and an address-space limit, several at once: a case that runs out of CPU time is a hang.
The limits themselves (what they allow, what they say) are tested in test_render_limits.py and
test_source_limits.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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
        try:
            out = Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption")
        except CampaignError as refused:  # an Undefined inside the value is refused where it shows
            assert "undefined" in refused.message or "unsafe" in refused.message
            continue
        assert "class" not in out and "module" not in out and "<" not in out, out


UNDEFINED_INSIDE_VALUES = [
    "{{ [nope] }}",
    "{{ {'k': nope} }}",
    "{{ (nope,) }}",
    "{{ [1, [2, (nope,)]] }}",
    "{{ {'a': {'b': nope}} }}",
    "{{ [caption, nope] }}",
    "{{ [nope]|first }}",
    "{{ [nope]|join(', ') }}",
    "{{ [nope]|list }}",
    "{{ {'k': nope}.items()|list }}",
    "{% set xs = [nope] %}{{ xs }}",
    "{{ [nope]|tojson }}",
    "{{ [nope]|string }}",
    "{{ [nope]|pprint }}",
]


@pytest.mark.parametrize("source", UNDEFINED_INSIDE_VALUES)
def test_an_undefined_variable_inside_a_literal_is_refused(source: str) -> None:
    """StrictUndefined alone lets `{{ [nope] }}` publish `[Undefined]`: refused wherever it shows."""
    with pytest.raises(CampaignError) as caught:
        Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption")
    assert caught.value.location == LOCATION and "nope" in caught.value.message


def test_literals_of_defined_values_still_render() -> None:
    out = Renderer().render(
        "{{ [caption, items|length] }} {{ {'k': brand} }}",
        dict(VARIABLES),
        location=LOCATION,
        field="caption",
    )
    assert out == "['Spring', 2] {'k': 'Northside'}"


# --- `|int` and `|float` never render 0 for what they cannot read ----------------------------------

NOT_NUMBERS = [
    ("{{ ('9'*100000)|int }}", "digits"),
    ("{{ ('9'*100000)|int(0) }}", "digits"),  # a fallback does not hide a number too long to read
    ("{{ ('9'*100000)|float }}", "digits"),
    ("{{ 'abc'|int }}", "whole number"),
    ("{{ 'abc'|float }}", "number"),
    ("{{ caption|int }}", "'Spring'"),
    ("{{ items|float }}", "number"),
    ("{{ '1e999'|float }}", "finite"),
    ("{{ 'nan'|float }}", "finite"),
    ("{{ '1e999'|int }}", "whole number"),
    ("{{ ''|int }}", "whole number"),
]


@pytest.mark.parametrize(("source", "said"), NOT_NUMBERS)
def test_int_and_float_refuse_what_they_cannot_convert(source: str, said: str) -> None:
    """Jinja's filters render 0 for these; a caption would publish `0` without a word."""
    with pytest.raises(CampaignError) as caught:
        Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption")
    assert caught.value.location == LOCATION and caught.value.field == "caption"
    assert said in caught.value.message and caught.value.fix


def test_int_and_float_convert_numbers_and_honour_an_explicit_fallback() -> None:
    out = Renderer().render(
        "{{ '42'|int }} {{ '42.7'|int }} {{ '0x1A'|int(0, 16) }} {{ 3.9|int }} {{ '2.5'|float }} "
        "{{ 'abc'|int(7) }} {{ 'abc'|float(default=0.5) }} {{ 'nan'|float(1.0) }} {{ true|int }}",
        dict(VARIABLES),
        location=LOCATION,
        field="caption",
    )
    assert out == "42 42 26 3 2.5 7 0.5 1.0 1"


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

spec = json.loads(sys.stdin.read())  # not argv: a long attack passes the limit of one argument


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
        if errors:  # rendering errors are reported, not raised
            raise CampaignErrors(errors)
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


def campaign(vars_: str, caption: str = "hi") -> str:
    return f"name: c\nvars:\n{vars_}\nbatches: [{{id: a, caption: {caption!r}, platforms: [twitter]}}]\n"


ATTACKS = {
    "nested loops of 10^10 steps": (
        "template",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    ),
    "lipsum of a million paragraphs": ("template", "{{ lipsum(1000000)|length }}"),
    "a power with a billion-digit result": ("template", "{{ (10 ** (10 ** 9)) % 7 }}"),
    "macros calling themselves twice, 40 deep": (
        "template",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    ),
    "a list grown while it is looped over": (
        "template",
        "{% set l = [1] %}{% for x in l %}{{ l.append(x) }}{% endfor %}",
    ),
    "a 100 MB caption by multiplication": ("template", "{{ 'x' * 10**8 }}"),
    "a 100 MB caption by center()": ("template", "{{ caption|center(10**8) }}"),
    "a 100 MB caption by a format width": ("template", "{{ '{:>100000000}'.format(caption) }}"),
    "a YAML alias bomb (10^12 items)": ("campaign", alias_bomb()),
    "YAML nested 5,000 deep": ("campaign", nested(5000)),
    "a range past the sandbox's limit": ("template", "{{ range(10**9)|length }}"),
    # The same limits, reached other ways.
    "loops over one range, with no call inside": (
        "template",
        "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",
    ),
    "loops whose condition never holds": (
        "template",
        "{% for b in range(100000) %}{% for a in range(100000) if a < 0 %}{% endfor %}{% endfor %}",
    ),
    "a text doubled 60 times with ~": (
        "template",
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    ),
    "a list extended by itself 60 times": (
        "template",
        "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
    ),
    "a list that contains itself, printed": ("template", "{% set l = [] %}{{ l.append(l) }}{{ l }}"),
    "a list of 100,000 long texts": ("template", "{{ ['x' * 1000] * 100000 }}"),
    "a join of repeated long texts": ("template", "{{ ('y' * 100000).join(['a'] * 10000) }}"),
    "a join filter of repeated long texts": ("template", "{{ (['x' * 100000] * 2)|join('y' * 100000) }}"),
    "a replace of every gap": ("template", "{{ ('a' * 200000).replace('', 'b' * 1000) }}"),
    "a huge float precision": ("template", "{{ '{:.100000000f}'.format(1.0) }}"),
    "a huge % width": ("template", "{{ '%0100000000d' % 1 }}"),
    "a % width taken from the values": ("template", "{{ '%*d' % (100000000, 1) }}"),
    "a format width taken from the values": ("template", "{{ '{:>{w}}'.format('x', w=100000000) }}"),
    "the format filter with a huge width": ("template", "{{ '%100000000s'|format('x') }}"),
    "int.to_bytes of 100 MB": ("template", "{{ (1).to_bytes(100000000, 'big') }}"),
    "batch filled to 10^8": ("template", "{{ [1]|batch(100000000, 'x')|list }}"),
    "10^8 slices": ("template", "{{ [1]|slice(100000000)|list }}"),
    "the sum of lists": ("template", "{{ ([[1]] * 40000)|sum(start=[])|length }}"),
    "indent by 10^8": ("template", "{{ caption|indent(100000000, true) }}"),
    "translate to long texts": ("template", "{{ ('a' * 1000).translate({97: 'x' * 100000}) }}"),
    "expandtabs to 10^5": ("template", "{{ ('\\t' * 10000).expandtabs(100000) }}"),
    "lipsum of 10^8 words": ("template", "{{ lipsum(1, min=10000000, max=100000000) }}"),
    "urlize with a long target": ("template", "{{ ('http://a.b ' * 1000)|urlize(target='x' * 100000) }}"),
    "tojson indented by 10^8": ("template", "{{ [[[1]]]|tojson(indent=100000000) }}"),
    "wordwrap with a long break": ("template", "{{ ('a ' * 100000)|wordwrap(1, wrapstring='x' * 1000) }}"),
    "dict.fromkeys of a long text": ("template", "{{ dict.fromkeys(range(100000), 'x' * 10000) }}"),
    "a set block filled by a loop": (
        "template",
        "{% set x %}{% for i in range(10000) %}{{ 'x' * 100000 }}{% endfor %}{% endset %}",
    ),
    "slices of a long text in a loop": (
        "template",
        "{% set b = 'x' * 200000 %}{% for i in range(10000) %}{% set c = b[1:] %}{% endfor %}",
    ),
    "a caption over the output limit": ("template", "{{ 'x' * 200000 }}{{ 'x' * 200000 }}"),
    "YAML nested 1,000,000 deep (libyaml would crash)": ("campaign", nested(1_000_000)),
    "a block sequence nested 200,000 deep": ("campaign", campaign("  x:\n    " + "- " * 200_000 + "a")),
    "a recursive YAML alias": ("campaign", campaign("  a: &a {x: *a}")),
    "a YAML list of 10,000 aliases of a long text, printed": (
        "campaign",
        campaign("  s: &s " + "x" * 100_000 + "\n  l: [" + ", ".join(["*s"] * 10_000) + "]", "{{ l }}"),
    ),
}
PARALLEL = 8  # processes at a time: enough to finish fast, few enough for a loaded machine


def _verdict(kind: str, source: str) -> dict:
    """One attack in a process of its own, with limits: what happened."""
    spec = {"kind": kind, "source": source, "cpu": CPU_SECONDS, "memory": MEMORY_BYTES}
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(json.dumps(spec), timeout=120)  # a backstop: the CPU limit ends hangs
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    lines = out.strip().splitlines()
    if process.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {
        "outcome": "hang" if process.returncode in (-24, -9) else "died",
        "code": process.returncode,
        "stderr": err[-300:],
    }


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict]:
    """Every attack, each in its own limited process: name → what happened."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {name: pool.submit(_verdict, kind, source) for name, (kind, source) in ATTACKS.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ATTACKS))
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
