"""The sandbox's `|int` and `|float`: a value they cannot convert is an error, not a silent 0.

Jinja's own filters return 0 (or 0.0) for anything they cannot read, so `{{ price|int }}` with a
typo in `price`, or a number too long for Python to read (`('9'*100000)|int`), would publish `0`.
Here:

* a value that is not a number is refused, unless the template gives the fallback itself
  (`|int(0)`, `|float(default=0.5)`): then the fallback is what it asked for, as in Jinja;
* a number of more than MAX_DIGITS digits is refused even with a fallback: it is a number, too
  long to show, not a typo (Python itself refuses to read one past 4,300 digits);
* `|float` never makes `inf` or `nan` (what `'1e999'` and `'nan'` read as): those count as "not a
  number"; `|int` of them, which Python cannot do, likewise.

Otherwise they behave as Jinja's: `'42'|int` is 42, `'42.7'|int` is 42, `'0x1A'|int(0, 16)` is 26.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from postdeck.schemas.template_limits import MAX_DIGITS, LimitError

_NO_DEFAULT: Any = object()


class ConversionError(jinja2.TemplateRuntimeError):
    """A value `|int` or `|float` cannot convert, with what to change."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def strict_int(value: Any, default: Any = _NO_DEFAULT, base: int = 10) -> Any:
    _check_digits(value, "int")
    try:
        if isinstance(value, str):
            return int(value, base)
        return int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))  # Jinja's quirk, kept: '42.23'|int is 42
        except (TypeError, ValueError, OverflowError):
            return _fallback(value, default, "int", "a whole number")


def strict_float(value: Any, default: Any = _NO_DEFAULT) -> Any:
    _check_digits(value, "float")
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return _fallback(value, default, "float", "a number")
    return result if math.isfinite(result) else _fallback(value, default, "float", "a finite number")


def _check_digits(value: Any, name: str) -> None:
    if isinstance(value, str) and len(value) > MAX_DIGITS and sum(c.isdigit() for c in value) > MAX_DIGITS:
        raise LimitError(
            f"`|{name}` of a number of more than {MAX_DIGITS:,} digits",
            "use a shorter number (a fallback like |int(0) does not hide this)",
        )


def _fallback(value: Any, default: Any, name: str, what: str) -> Any:
    if default is not _NO_DEFAULT:
        return default
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ConversionError(
        f"`|{name}` cannot make {what} of {shown}",
        f"fix the value, or give the fallback you want: |{name}(0)",
    )


NUMBER_FILTERS = {"int": strict_int, "float": strict_float}
