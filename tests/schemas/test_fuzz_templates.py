"""Hypothesis: generated caption templates (Jinja from a grammar, then corrupted at random) rendered the way
expansion renders them, with a templates/ folder of includes (cycles and an escaping link among them).

The only outcomes allowed: text, or a CampaignError at the caption's location. No other exception; no
hang (deadlines, and pytest-timeout around each property). The resource attacks (huge loops, lipsum,
huge powers, a list grown while it is looped over) are pinned one by one in test_security_templates.py;
some are mixed into this grammar too (`**`, huge ranges, widths and repeats), so that the budgets of
schemas/template_limits.py hold in combination with everything else.
"""

from __future__ import annotations

import atexit
import copy
import os
import random
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import strategies as st

from postdeck.errors import CampaignError, Location
from postdeck.schemas.render import Renderer
from tests.fuzzing import run_counted

pytestmark = pytest.mark.slow  # left out of `make test-fast`

FOLDER = Path(tempfile.mkdtemp(prefix="postdeck-fuzz-templates-"))
OUTSIDE = FOLDER.parent / f"{FOLDER.name}-outside.txt"
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
atexit.register(OUTSIDE.unlink, missing_ok=True)
TEMPLATES = {
    "sig.j2": "— {{ brand | default('us') }}",
    "self.j2": "{% include 'self.j2' %}",
    "a.j2": "A {% include 'b.j2' %}",
    "b.j2": "B {% include 'a.j2' %}",
    "macros.j2": "{% macro shout(x) %}{{ x | upper }}!{% endmacro %}",
    "uses-macros.j2": "{% from 'macros.j2' import shout %}{{ shout(brand) }}",
    "bad.j2": "{% if %}",
    "dynamic.j2": "{% include brand %}",
}
for _name, _text in TEMPLATES.items():
    (FOLDER / _name).write_text(_text, encoding="utf-8")
OUTSIDE.write_text("outside the folder")
os.symlink(OUTSIDE, FOLDER / "escape.j2")

LOCATION = Location("campaigns/fuzz.yaml", 12, 5)
VARIABLES = {
    "brand": "Northside",
    "caption": "Spring is here",
    "platform": "twitter",
    "n": 3,
    "items": ["a", "b", "c"],
    "info": {"city": "Berlin", "open": True},
    "none": None,
}

# --- a small Jinja grammar ------------------------------------------------------------------------

names = st.sampled_from(
    [*VARIABLES, "missing", "loop", "self", "range", "lipsum", "dict", "cycler", "namespace", "joiner"]
)
literals = st.sampled_from(
    ["1", "0", "-2", "3.5", "'x'", '"é☕"', "''", "none", "true", "[1, 2]", "{'k': 'v'}", "(1,)"]
)
attributes = st.sampled_from(
    [
        "upper",
        "city",
        "__class__",
        "__globals__",
        "__init__",
        "mro",
        "__subclasses__",
        "format",
        "items",
        "gi_frame",
        "_TemplateReference__context",
        "0",
    ]
)
FILTERS = [
    "upper",
    "lower",
    "title",
    "length",
    "join",
    "join(', ')",
    "default('x')",
    "truncate(10)",
    "replace('a', 'b')",
    "int",
    "float",
    "string",
    "list",
    "first",
    "last",
    "sort",
    "unique",
    "reverse",
    "center(9)",
    "indent(2)",
    "wordwrap(12)",
    "format(1)",
    "attr('__class__')",
    "attr('upper')",
    "safe",
    "e",
    "map('upper')",
    "select",
    "batch(2)",
    "slice(2)",
    "sum",
    "min",
    "max",
    "abs",
    "round",
    "tojson",
    "urlencode",
    "wordcount",
    "xmlattr",
    "dictsort",
    "groupby('x')",
    "random",
    "filesizeformat",
    "striptags",
    "trim",
    "capitalize",
    "items",
    "pprint",
]
filters = st.sampled_from(FILTERS)
operators = st.sampled_from(
    ["+", "-", "*", "**", "/", "//", "%", "~", "==", "!=", "<", "and", "or", "in", "not in", "is"]
)
calls = st.sampled_from(
    [
        "range(5)",
        "range(2, 9, 3)",
        "lipsum(1, false, 3, 5)",
        "dict(a=1)",
        "cycler('a', 'b')",
        "namespace(x=1)",
        "joiner()",
        "'{}-{}'.format(1, 2)",
        "'%s'|format('x')",
        "brand.upper()",
        "items.append(1)",
        "info.update(a=1)",
        "caption.split()",
        "range(999999999)",
        "lipsum(100000)",
        "'x' * 10 ** 8",
        "'{:>99999999}'.format(1)",
        "items * 100000000",
    ]
)


def _expressions() -> st.SearchStrategy[str]:
    base = names | literals | calls
    return st.recursive(
        base,
        lambda inner: (
            st.tuples(inner, attributes).map(lambda t: f"{t[0]}.{t[1]}")
            | st.tuples(inner, filters).map(lambda t: f"{t[0]}|{t[1]}")
            | st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
            | st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]")
            | inner.map(lambda e: f"not {e}")
            | st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
        ),
        max_leaves=4,
    )


expressions = _expressions()
iterables = st.sampled_from(
    [
        "items",
        "range(4)",
        "'abc'",
        "info",
        "info.items()",
        "[1, 2, 3]",
        "caption.split()",
        "none",
        "n",
        "missing",
    ]
)
includes = st.sampled_from(
    [*TEMPLATES, "escape.j2", "missing.j2", "../x.j2", "/etc/passwd", "sub/../sig.j2", ""]
)
text = st.text(alphabet=string.ascii_letters + " #@.,!🚀é\n", max_size=12)


def _blocks() -> st.SearchStrategy[str]:
    leaf = (
        text
        | expressions.map(lambda e: "{{ " + e + " }}")
        | includes.map(lambda n: "{% include '" + n + "' %}")
        | expressions.map(lambda e: "{% set v = " + e + " %}{{ v }}")
        | text.map(lambda t: "{# " + t + " #}")
        | st.just("{% raw %}{{ not rendered }}{% endraw %}")
    )
    return st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, min_size=1, max_size=3).map("".join)
            | st.tuples(expressions, inner, inner).map(
                lambda t: f"{{% if {t[0]} %}}{t[1]}{{% else %}}{t[2]}{{% endif %}}"
            )
            | st.tuples(iterables, inner).map(
                lambda t: f"{{% for x in {t[0]} %}}{t[1]}{{{{ loop.index }}}}{{% endfor %}}"
            )
            | inner.map(lambda b: "{% macro m(a) %}" + b + "{% endmacro %}{{ m(1) }}")
            | inner.map(lambda b: "{% filter upper %}" + b + "{% endfilter %}")
        ),
        max_leaves=5,
    )


blocks = _blocks()
CORRUPTIONS = [
    "{",
    "}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "%",
    "'",
    '"',
    "|",
    ".",
    "(",
    ")",
    "endif",
    "\x00",
    "\r",
]


@st.composite
def corrupted(draw: st.DrawFn) -> str:
    source = draw(blocks)
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 3))):
        at = rng.randrange(len(source) + 1)
        if rng.random() < 0.5:
            source = source[:at] + rng.choice(CORRUPTIONS) + source[at:]
        else:
            source = source[:at] + source[at + rng.randint(1, 4) :]
    return source


# --- the property ---------------------------------------------------------------------------------

RENDERER = Renderer(FOLDER)  # one per folder, as expansion has: its caches are part of what is fuzzed


def check(source: str) -> None:
    try:
        result = RENDERER.render(source, copy.deepcopy(VARIABLES), location=LOCATION, field="caption")
    except CampaignError as exc:
        assert exc.location.path == LOCATION.path, exc
        assert exc.location.line is not None and exc.location.line >= LOCATION.line, exc
        assert exc.field == "caption" and exc.message, exc
        return
    assert isinstance(result, str)


def test_generated_templates_render_or_fail_at_the_caption() -> None:
    assert run_counted(blocks, 1800, check) >= 1800


def test_corrupted_templates_render_or_fail_at_the_caption() -> None:
    assert run_counted(corrupted(), 1000, check) >= 1000


def test_arbitrary_text_as_a_template() -> None:
    assert run_counted(st.text(alphabet=string.printable + "{}%#é☕", max_size=60), 400, check) >= 400
