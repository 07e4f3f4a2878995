"""Estimates of what an operator (`*`, `**`, `+`, `%`), a str.format or a str/bytes/int method call
would make, refused before it runs when over the limits of template_limits.py.
"""

from __future__ import annotations

import math
import re
import string
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from postdeck.schemas.template_limits import MAX_DIGITS, LimitError
from postdeck.schemas.template_sizes import measure, refuse_estimate

_SEQUENCES = (str, bytes, list, tuple)


def _check_digits(digits: int, operator: str) -> None:
    if digits > MAX_DIGITS:
        raise LimitError(
            f"`{operator}` would make a number of about {digits:,} digits, over the limit of {MAX_DIGITS:,}",
            "use smaller numbers",
        )


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `**`, `*`, `+` and `%` whose result would be too big, before computing it."""
    numbers = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and numbers and right > 0 and abs(left) > 1:
        _check_digits(int(right * math.log10(abs(left))) + 1, operator)
    elif operator == "*" and numbers:
        _check_digits((left.bit_length() + right.bit_length()) * 3 // 10, operator)
    elif operator == "*":
        times, seq = (right, left) if isinstance(right, int) else (left, right)
        if isinstance(times, int) and isinstance(seq, _SEQUENCES):
            refuse_estimate(measure(seq) * max(times, 0), "`*`", "repeat fewer times")
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        refuse_estimate(measure(left) + measure(right), "`+`", "build smaller values")
    elif operator == "%" and isinstance(left, str):
        refuse_estimate(printf_size(left, right), "a % format", "use smaller widths or values")


# `%[(name)][flags][width][.precision][length]type`
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")
_NUMBER = re.compile(r"\d+")


def printf_size(fmt: str, args: Any) -> int:
    """An upper bound of len(fmt % args): the text, the widths, and every field as big as the biggest value."""
    specs = _PRINTF_SPEC.findall(fmt)
    if any("*" in spec for spec in specs):
        raise LimitError("`*` widths in a % format are not allowed", "write the width as a number")
    widths = sum(int(width or 0) + int(precision or 0) for width, precision in specs)
    values = args.values() if isinstance(args, Mapping) else args if isinstance(args, tuple) else (args,)
    return len(fmt) + widths + len(specs) * max(map(measure, values), default=0)


def format_size(fmt: str, values: Iterable[Any]) -> int:
    """An upper bound of len(fmt.format(...)): as printf_size, for `{}` fields."""
    fields = [
        (spec or "", conversion)
        for _, name, spec, conversion in string.Formatter().parse(fmt)
        if name is not None
    ]
    if any("{" in spec for spec, _ in fields):
        raise LimitError(
            "a width taken from a {field} is not allowed in a format", "write the width as a number"
        )
    widths = sum(int(number) for spec, _ in fields for number in _NUMBER.findall(spec))
    # !r and !a escape a character into up to 10 (\U0001f600)
    expands = 10 if any(conversion in ("r", "a") for _, conversion in fields) else 1
    return len(fmt) + widths + len(fields) * expands * max(map(measure, values), default=0)


# --- calls of str, bytes and int methods ---------------------------------------------------------


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _padded(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    width = _arg(args, kwargs, 0, "width", 0)
    return max(len(owner), width if isinstance(width, int) else 0), args


def _tabs(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    size = _arg(args, kwargs, 0, "tabsize", 8)
    return len(owner) * max(size if isinstance(size, int) else 0, 1), args


def _replaced(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    old, new, count = (
        _arg(args, kwargs, 0, "old", ""),
        _arg(args, kwargs, 1, "new", ""),
        _arg(args, kwargs, 2, "count", -1),
    )
    return replace_size(owner, old, new, count), args


def _joined(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    items = list(args[0]) if args else []  # made a list once, to measure it and then join it
    return join_size(owner, items), (items, *args[1:])


def _translated(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    table = args[0] if args else {}
    values = table.values() if isinstance(table, Mapping) else table if isinstance(table, _SEQUENCES) else ()
    longest = max((len(v) for v in values if isinstance(v, str)), default=1)
    return len(owner) * max(longest, 1), args


def _bytes_long(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, tuple[Any, ...]]:
    length = _arg(args, kwargs, 0, "length", 1)
    return (length if isinstance(length, int) else 0), args


def replace_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not isinstance(text, (str, bytes)) or type(old) is not type(text) or type(new) is not type(text):
        return 0  # the call fails on its own
    found = cast(Any, text).count(old) if old else len(text) + 1  # old is of text's type: checked above
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * len(new)


def join_size(separator: Any, items: list[Any]) -> int:
    return sum(map(measure, items)) + len(separator) * len(items)


_TEXT_METHODS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[int, tuple[Any, ...]]]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _tabs,
    "replace": _replaced,
    "join": _joined,
    "translate": _translated,
}
_MUTABLE = (list, dict, set, bytearray)


def check_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a str/bytes/int method call whose result would be too big; the arguments to call with."""
    if not isinstance(function, types.BuiltinMethodType):
        return args
    owner = function.__self__
    estimate = None
    if isinstance(owner, (str, bytes)):
        estimate = _TEXT_METHODS.get(function.__name__)
    elif isinstance(owner, int) and function.__name__ == "to_bytes":
        estimate = _bytes_long
    if estimate is None:
        return args
    size, args = estimate(owner, args, kwargs)
    refuse_estimate(size, f"`{function.__name__}()`", "use a smaller width or count")
    return args


def grows(function: Any) -> bool:
    """A method that may grow its list or dict in place (l.append, d.update): by what it is given."""
    return isinstance(function, types.BuiltinMethodType) and isinstance(function.__self__, _MUTABLE)


def call_name(function: Any) -> str:
    return str(getattr(function, "__name__", None) or getattr(function, "name", None) or "a call")
