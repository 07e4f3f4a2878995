"""Rendering: the substitution shortcut renders exactly what Jinja would, and errors stay located."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SandboxedEnvironment

from postdeck.errors import CampaignError, Location
from postdeck.schemas.render import Renderer

VARIABLES = {"brand": "Northside", "n": 3, "none": None, "items": ["a", "b"], "ratio": 0.5, "yes": True}
JINJA = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
PIECES = [
    "{{ brand }}",
    "{{n}}",
    "{{  none }}",
    "{{ items }}",
    "{{ ratio }}",
    "{{ yes }}",
    "{",
    "}",
    " ",
    "x",
    "☕",
    "{{",
    "}}",
]


@pytest.mark.slow
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@settings(max_examples=300, deadline=None)
def test_the_shortcut_renders_what_jinja_renders(source: str) -> None:
    try:
        expected = JINJA.from_string(source).render(**VARIABLES).strip()
    except jinja2.TemplateError:
        with pytest.raises(CampaignError):
            Renderer().render(source, VARIABLES, location=Location("c.yaml", 1, 1), field="caption")
        return
    assert (
        Renderer().render(source, VARIABLES, location=Location("c.yaml", 1, 1), field="caption") == expected
    )


def test_an_undefined_name_is_an_error_on_both_paths() -> None:
    for source in ("{{ nobody }}", "{{ nobody | upper }}"):
        with pytest.raises(CampaignError, match="'nobody' is undefined"):
            Renderer().render(source, {}, location=Location("c.yaml", 4, 14), field="batches[0].caption")


def test_include_cycles_are_named_before_rendering(tmp_path: Path) -> None:
    (tmp_path / "a.j2").write_text("{% include 'b.j2' %}")
    (tmp_path / "b.j2").write_text("{% include 'c.j2' %}")
    (tmp_path / "c.j2").write_text("{% include 'a.j2' %}")
    (tmp_path / "ok.j2").write_text("fine")
    renderer = Renderer(tmp_path)
    with pytest.raises(CampaignError, match=re.escape("a.j2 → b.j2 → c.j2 → a.j2")) as info:
        renderer.render("x {% include 'a.j2' %}", {}, location=Location("c.yaml", 7, 14), field="caption")
    assert str(info.value.location) == "c.yaml:7:14"
    assert (
        renderer.render(
            "{% include 'ok.j2' %} {% include 'ok.j2' %}", {}, location=Location("c", 1), field="f"
        )
        == "fine fine"
    )


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.j2", "sub/../../x.j2", "a\\b.j2"])
def test_include_names_cannot_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(CampaignError, match="templates"):
        Renderer(tmp_path).render(f"{{% include '{name}' %}}", {}, location=Location("c", 1), field="f")


def test_without_a_templates_folder_includes_are_not_found() -> None:
    with pytest.raises(CampaignError, match="template"):
        Renderer(None).render("{% include 'x.j2' %}", {}, location=Location("c", 1), field="f")


def test_outputs_are_cached_per_value_of_every_variable_read_even_inside_includes(tmp_path: Path) -> None:
    (tmp_path / "sign.j2").write_text(
        "{% if platform == 'linkedin' %}Northside Roasters Ltd{% else %}@northside{% endif %}"
    )
    renderer = Renderer(tmp_path)
    source = "hello {% include 'sign.j2' %}"
    where = {"location": Location("c.yaml", 1), "field": "caption"}
    rendered = [
        renderer.render(source, {"platform": p, "unused": p}, **where)
        for p in ("twitter", "linkedin", "twitter")
    ]
    assert rendered == ["hello @northside", "hello Northside Roasters Ltd", "hello @northside"]
    # A value that is not a valid key (a set) is simply rendered every time.
    assert renderer.render("{{ tags | length }}", {"tags": {1, 2}}, **where) == "2"
    assert renderer.render("{{ n }}/{{ flag }}", {"n": 1, "flag": True}, **where) == "1/True"
    assert renderer.render("{{ n }}/{{ flag }}", {"n": True, "flag": 1}, **where) == "True/1"
