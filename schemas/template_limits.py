"""CPU and memory limits for rendering untrusted caption templates: the limits and the budget of one render.

Jinja's sandbox keeps a template away from Python's internals, not from the CPU or the memory: two
lines can loop 10^10 times or build a 10^9-character string. Within one render:

* steps: loop iterations, calls and filters together are at most MAX_STEPS;
* size: no value, and no caption, is longer than MAX_TEXT characters. Operations that multiply
  (`*`, `**`, widths, repeat counts, `join`, `replace`, format specs, lipsum) are estimated before
  they run; anything else is checked after it ran, on values that grew at most linearly;
* work: the characters built, written and read over the whole render are at most MAX_WORK (a
  loop that builds many values, each under the size limit).

This module holds the limits, LimitError, the budget a render counts against and `render` itself.
The rest lives beside it, one job each: template_sizes.py measures values (estimates of what str()
makes, counted only up to just past the limit, so measuring a huge or self-containing list stays
cheap); template_estimates.py sizes operators and str/bytes/int method calls before they run;
template_filters.py wraps every filter; template_environment.py is LimitedEnvironment, whose hooks
(binary operators, calls, str.format, every filter, every `{{ }}` output) and rewrite of each
parsed template (`for` loops, `~` and slices) route through them. render.py turns a LimitError into
a CampaignError at the caption.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2

MAX_STEPS = 10_000  # a caption loops over a few items; this is 100 times more than any needs
MAX_TEXT = 256_000  # far above any platform's caption limit (63,206 characters on Facebook)
MAX_WORK = 8 * MAX_TEXT
MAX_NESTING = 100  # as in campaign files (source.py)
MAX_DIGITS = 4_000  # Python refuses to print an integer past 4,300 digits anyway


class LimitError(jinja2.TemplateRuntimeError):
    """A template over one of the limits: says which, and what to change."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


# --- the budget of one render ----------------------------------------------------------------------


@dataclass
class Budget:
    steps: int = 0
    work: int = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitError(
                f"the template takes more than {MAX_STEPS:,} steps (loop iterations, calls and filters)",
                "loop over fewer items: a caption needs only a few",
            )

    def charge(self, size: int) -> None:
        self.work += size
        if self.work > MAX_WORK:
            raise LimitError(
                f"the template builds or reads more than {MAX_WORK:,} characters in all",
                "build fewer or smaller values",
            )


_BUDGET: ContextVar[Budget | None] = ContextVar("postdeck_template_budget", default=None)


def render(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """Render with a budget of its own (a context variable: safe across threads), stopping at MAX_TEXT."""
    token = _BUDGET.set(Budget())
    try:
        return join_output(template.generate(**variables))
    finally:
        _BUDGET.reset(token)


def budget() -> Budget:
    # Outside a render (Jinja folds constants while compiling) a fresh budget: sizes still checked.
    return _BUDGET.get() or Budget()


def check_output(size: int) -> None:
    if size > MAX_TEXT:
        raise LimitError(
            f"the caption is longer than {MAX_TEXT:,} characters",
            "shorten it: platforms allow a few thousand characters at most",
        )


def join_output(parts: Iterable[str]) -> str:
    """The rendered text, stopped as soon as it passes MAX_TEXT."""
    out: list[str] = []
    size = 0
    for part in parts:
        size += len(part)
        check_output(size)
        out.append(part)
    return "".join(out)
