"""What both fuzz suites share: Hypothesis settings and a runner that counts the cases it ran."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    deadline=timedelta(seconds=5),
    derandomize=True,  # the same cases on every run and machine
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def run_counted(strategy: st.SearchStrategy[str], examples: int, check: Callable[[str], None]) -> int:
    """Run `check` on `examples` generated cases; return how many ran (the tests assert all of them)."""
    count = 0

    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def one(text: str) -> None:
        nonlocal count
        count += 1
        check(text)

    one()
    return count
