"""The template limits (schemas/template_limits.py): what they still allow, where they stop, what they say.

Every input here is only just past a limit, so a broken limit fails the test instead of hanging it; the
huge attacks run in limited processes in test_security_templates.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from postdeck.errors import CampaignError, Location
from postdeck.schemas import template_limits as limits
from postdeck.schemas.render import Renderer
from postdeck.schemas.template_sizes import measure
from tests.conftest import REPO

LOCATION = Location("campaigns/limits.yaml", 12, 5)
VARIABLES = {
    "brand": "Northside",
    "caption": "Spring is here",
    "platform": "linkedin",
    "shop_url": "https://northside.example/shop",
    "n": 3,
    "items": ["a", "b", "c"],
    "info": {"city": "Berlin", "open": True},
    "tree": [{"n": "a", "kids": [{"n": "b", "kids": []}]}],
}

LEGIT = [
    "{{ caption|upper }} — {{ brand }}",
    "{% for i in items %}{{ loop.index }}:{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% for i in items if i != 'a' %}{{ i }}{% else %}none{% endfor %}",
    "{% for k, v in info|dictsort %}{{ k }}={{ v }} {% endfor %}",
    "{% for i in items %}{{ loop.index }}/{{ loop.length }}/{{ loop.revindex }}{{ loop.cycle('-', '+') }}{% endfor %}",
    "{% for t in tree recursive %}{{ t.n }}({{ loop(t.kids) }}){% endfor %}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}{% with y = 3 %}{{ y * 2 }}{% endwith %}",
    "{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in {{ items|length }}{% endcall %}",
    "{% for i in range(200) %}{% endfor %}{{ range(5)|list }}",
    "{{ items|join(', ') }} {{ items|map('upper')|join }} {{ ', '.join(items) }}",
    "{{ caption|center(30) }}|{{ caption|truncate(9) }}|{{ caption|wordwrap(6) }}|{{ caption|indent(2, true) }}",
    "{{ '%5s|%-4d|%.2f' % ('a', 2, 3.14159) }} {{ '%s'|format(brand) }} {{ '%(a)s' % {'a': 1} }}",
    "{{ '{:>8}|{:.3}|{!r}'.format(caption, 2.5, brand) }} {{ '{x}'.format_map({'x': n}) }}",
    "{{ 'ab' * 3 }} {{ [1] * 3 }} {{ 2 ** 64 }} {{ n * 7 }} {{ items + ['d'] }} {{ caption ~ '!' ~ n }}",
    "{{ caption[1:4] }} {{ items[::-1] }} {{ caption.replace('S', 's') }} {{ caption.rjust(16, '*') }}",
    "{% set ns = namespace(total=0) %}{% for x in range(10) %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}",
    "{% set l = [] %}{% for x in items %}{{ l.append(x|upper) or '' }}{% endfor %}{{ l }}",
    "{% macro tag(x) %}#{{ x|lower }}{% endmacro %}{{ tag('Spring') }} {{ tag(brand) }}",
    "{% macro f(k) %}{% if k %}{{ f(k - 1) }}.{% endif %}{% endmacro %}{{ f(20) }}",
    "{% filter upper %}hello {{ brand }}{% endfilter %} {% set x %}[{{ n }}]{% endset %}{{ x }}",
    "{{ info|tojson }} {{ info|tojson(2) }} {{ [1, 2, 3]|sum }} {{ [3, 1, 2]|sort }} {{ items|batch(2)|list }}",
    "{{ items|slice(2)|list }} {{ caption|replace('e', 'E') }} {{ missing|default('fallback') }}",
    "{{ 'see https://example.com now'|urlize }} {{ caption|wordcount }} {{ 1234567|filesizeformat }}",
    "{% autoescape true %}{{ '<b>' ~ brand }}{% endautoescape %}",
    "{{ dict(a=1) }} {{ cycler('x', 'y').next() }} {{ (10 ** 100) % 7 }}",
]


@pytest.mark.parametrize("source", LEGIT)
def test_legitimate_templates_render_as_the_plain_sandbox_renders_them(source: str) -> None:
    plain = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    expected = plain.from_string(source).render(**VARIABLES).strip()
    assert Renderer().render(source, dict(VARIABLES), location=LOCATION, field="caption") == expected


def test_lipsum_and_includes_from_the_campaign_templates_still_work() -> None:
    renderer = Renderer(REPO / "campaigns" / "templates")
    out = renderer.render(
        "{{ caption }} {% include 'shop-link.j2' %} {% include 'signature.j2' %}",
        dict(VARIABLES),
        location=LOCATION,
        field="caption",
    )
    assert out == "Spring is here https://northside.example/shop — Northside, roasting in Leith since 2014"
    assert Renderer().render("{{ lipsum(2, false) }}", {}, location=LOCATION, field="caption")


def test_the_limits_end_where_they_say() -> None:
    """Just under each limit renders; the limits are the module's constants."""
    render = Renderer().render
    assert (
        len(render(f"{{{{ 'x' * {limits.MAX_TEXT} }}}}", {}, location=LOCATION, field="c")) == limits.MAX_TEXT
    )
    assert render("{% for i in range(9000) %}{% endfor %}ok", {}, location=LOCATION, field="c") == "ok"
    assert len(render("{{ 2 ** 13000 }}", {}, location=LOCATION, field="c")) == 3914
    assert render("{{ [[[1]]]|tojson(8)|length > 0 }}", {}, location=LOCATION, field="c") == "True"


OVER = [
    ("{% for i in range(10001) %}{% endfor %}", "more than 10,000 steps", "fewer items"),
    ("{% macro f(k) %}{{ f(k) }}{{ f(k) }}{% endmacro %}{{ f(1) }}", "recurses too deeply", "simplify"),
    (
        "{% macro f(k) %}{% if k %}{{ f(k-1) }}{{ f(k-1) }}{% endif %}{% endmacro %}{{ f(14) }}",
        "10,000 steps",
        "",
    ),
    (f"{{{{ 'x' * {limits.MAX_TEXT + 1} }}}}", "`*` would make about 256,001 characters", "repeat fewer"),
    ("{{ 'x' * 200000 }}{{ 'y' * 200000 }}", "the caption is longer than 256,000 characters", "shorten"),
    ("{% for i in range(9) %}{% set x = 'x' * 250000 %}{% endfor %}", "2,048,000 characters in all", "fewer"),
    ("{{ 2 ** 14000 }}", "`**` would make a number of about 4,215 digits", "smaller numbers"),
    ("{{ caption|center(300000) }}", "the center filter would make about 300,000", "smaller width"),
    ("{{ caption.ljust(300000) }}", "`ljust()` would make about 300,000", "smaller width"),
    ("{{ ('a\\n' * 20)|indent(30000, true) }}", "the indent filter would make about 630,0", "smaller width"),
    ("{{ '{:>300000}'.format(caption) }}", "`format()` would make about 300,0", "smaller widths"),
    ("{{ '{:>{w}}'.format(caption, w=5) }}", "a width taken from a {field}", "as a number"),
    ("{{ '%300000s' % caption }}", "a % format would make about 300,0", "smaller widths"),
    ("{{ '%*s' % (5, caption) }}", "`*` widths in a % format", "as a number"),
    ("{{ '%300000s'|format(caption) }}", "the format filter", "smaller width"),
    ("{{ ('ab' * 1000).replace('', 'x' * 200) }}", "`replace()` would make", "smaller width"),
    ("{{ ('x' * 1000).join(['a'] * 300) }}", "`join()` would make", "smaller width"),
    ("{{ (['x' * 1000] * 200)|join('y' * 1000) }}", "the join filter would make", "smaller width"),
    ("{{ lipsum(1000) }}", "lipsum() would make about 1,200,000", "fewer paragraphs"),
    ("{{ [1]|batch(300000, 0)|list }}", "the batch filter", "smaller width"),
    ("{{ [1]|slice(300000)|list }}", "the slice filter", "smaller width"),
    ("{{ [[1], [2]]|sum(start=[]) }}", "the sum filter adds numbers only", "remove `start`"),
    ("{{ [1]|tojson(9) }}", "tojson indents by at most 8", "smaller indent"),
    ("{% set l = [] %}{{ l.append(l) or '' }}{{ l }}", "nested more than 100 levels", "flatter"),
    ("{{ (1).to_bytes(300000, 'big') }}", "`to_bytes()` would make about 300,000", "smaller width"),
    ("{{ big }}", "an output makes a value of more than 256,000 characters", "smaller values"),
    ("{{ big|length }}", "the value given to the length filter", "smaller values"),
    ("{{ big ~ '' }}", "`~` would make", "smaller values"),
]


@pytest.mark.parametrize(("source", "message", "fix"), OVER)
def test_each_limit_is_a_located_error_that_says_which_and_what_to_change(
    source: str, message: str, fix: str
) -> None:
    variables = {**VARIABLES, "big": ["x" * 1000] * 300}  # a list from YAML whose text is 300,000+ long
    with pytest.raises(CampaignError) as caught:
        Renderer().render(source, variables, location=LOCATION, field="batches[2].caption")
    error = caught.value
    assert error.location == LOCATION and error.field == "batches[2].caption"
    assert message in error.message and fix in error.fix, str(error)
    assert str(error).startswith("campaigns/limits.yaml:12:5: batches[2].caption: ")


def test_each_render_has_a_budget_of_its_own() -> None:
    """Budgets are per render (and per thread): many renders near the step limit all pass."""
    source = "{% for i in range(4000) %}{% endfor %}{{ n }}"
    renderer = Renderer()
    results: list[str] = []

    def work(offset: int) -> None:
        for n in range(offset, offset + 5):  # different values: not the output cache
            results.append(renderer.render(source, {"n": n}, location=LOCATION, field="c"))

    threads = [threading.Thread(target=work, args=(k * 10,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=int) == [str(k * 10 + n) for k in range(3) for n in range(5)]


def test_the_limits_apply_to_included_templates(tmp_path: Path) -> None:
    (tmp_path / "loop.j2").write_text("{% for i in range(20000) %}{% endfor %}")
    with pytest.raises(CampaignError, match="10,000 steps") as caught:
        Renderer(tmp_path).render("{% include 'loop.j2' %}", {}, location=LOCATION, field="caption")
    assert caught.value.location == LOCATION


def test_measure_counts_only_up_to_its_limit() -> None:
    looped: list = []
    looped.append(looped)
    assert measure("abc") == 3
    assert len("['ab', 'c']") <= measure(["ab", "c"]) <= len("['ab', 'c']") + 4  # a little above
    assert measure(list(range(10**6)), limit=1000) > 1000
    with pytest.raises(limits.LimitError, match="nested"):
        measure(looped)
