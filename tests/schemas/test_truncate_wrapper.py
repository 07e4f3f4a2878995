"""`truncate: true` with a wrapper template: the caption inside the wrapper is shortened, so the
wrapper's own text (a link, a signature) is published whole and the whole caption fits."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

from postdeck.schemas import counting
from postdeck.schemas.deliveries import Delivery, expand
from postdeck.schemas.loader import load_campaign
from postdeck.schemas.rules import Number
from postdeck.schemas.truncate import ELLIPSIS, fits, truncate
from postdeck.schemas.validation import check_file

LINK = "https://northside.example/spring-roast"


def limit(value: int, unit: str = "utf16") -> Number:
    return Number(value=value, unit=unit, source="T", as_of=date(2026, 1, 1), confidence="high")


def deliveries(folder: Path, text: str) -> dict[str, Delivery]:
    path = folder / "c.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    assert check_file(path).ok, [str(e) for e in check_file(path).errors]
    return {d.key.split("/", 1)[1]: d for d in expand(load_campaign(path))}


def test_the_body_is_shortened_inside_the_wrapper() -> None:
    body = "word " * 40
    short = truncate(body.strip(), [limit(60)], wrap=lambda caption: f"{caption} {LINK}")
    assert short.endswith(f"{ELLIPSIS} {LINK}") and len(short) <= 60
    assert short.startswith("word word")


def test_what_fits_wrapped_is_left_alone() -> None:
    assert truncate("hello", [limit(60)], wrap=lambda caption: f"[{caption}]") == "[hello]"


def test_a_wrapper_too_long_for_any_body_cuts_the_whole_caption() -> None:
    wrapped = truncate("hello there", [limit(20)], wrap=lambda caption: f"{caption} {LINK}")
    assert wrapped.endswith(ELLIPSIS) and fits(wrapped, [limit(20)])


def test_a_campaign_keeps_its_wrappers_link_on_every_platform(tmp_path: Path) -> None:
    found = deliveries(
        tmp_path,
        f"""
        name: c
        vars: {{shop: "{LINK}"}}
        defaults:
          platforms: [twitter, bluesky, threads, linkedin]
          truncate: true
          template: "{{{{ caption }}}} {{{{ shop }}}}"
          bluesky: {{template: "🚨 {{{{ caption }}}} 🚨 {{{{ shop }}}}"}}
        batches:
          - id: a
            caption: "{"A washed Ethiopian, roasted this morning. " * 20}"
        """,
    )
    twitter, bluesky, threads = (found[f"a/{p}"].caption for p in ("twitter", "bluesky", "threads"))
    assert twitter.endswith(f"{ELLIPSIS} {LINK}") and counting.x_weighted(twitter) <= 280
    assert bluesky.startswith("🚨 A washed") and bluesky.endswith(f"{ELLIPSIS} 🚨 {LINK}")
    assert counting.graphemes(bluesky) <= 300
    assert threads.endswith(f"{ELLIPSIS} {LINK}") and counting.threads_units(threads) <= 500
    assert not found["a/linkedin"].caption.endswith(ELLIPSIS)  # 3,000 UTF-16 units fit


def test_a_wrapper_that_reads_the_platform_is_rendered_per_platform(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "sign.j2").write_text("on {{ platform }}")
    found = deliveries(
        tmp_path,
        """
        name: c
        defaults:
          platforms: [twitter, bluesky]
          template: "{{ caption }} ({% include 'sign.j2' %})"
        styles:
          plain: {template: "{{ caption }} [{{ platform }}]"}
        batches:
          - {id: a, caption: "hello from {{ platform }}"}
          - {id: b, caption: "hello", style: plain}
        """,
    )
    assert found["a/twitter"].caption == "hello from twitter (on twitter)"
    assert found["a/bluesky"].caption == "hello from bluesky (on bluesky)"
    assert found["b/twitter"].caption == "hello [twitter]"
    assert found["b/bluesky"].caption == "hello [bluesky]"
