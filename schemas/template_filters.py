"""Every Jinja filter of the sandbox, wrapped: counted as a step, its arguments measured, its result's
size estimated before it runs (the filters that multiply) or checked after; and a limited lipsum.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from jinja2.utils import generate_lorem_ipsum

from postdeck.schemas.template_estimates import join_size, printf_size, replace_size
from postdeck.schemas.template_limits import LimitError, budget
from postdeck.schemas.template_sizes import measure, produced, refuse_estimate

_TOJSON_INDENT = 8  # output grows with indent × depth, which the estimate does not know


def _width(value: Any) -> int:
    return len(value) if isinstance(value, str) else value if isinstance(value, int) else 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)  # only on values measure() let through


# Estimates of a filter's output, called with the filter's own arguments (after Jinja's context).


def _center(value: Any, width: Any = 80) -> int:
    return max(measure(value), _width(width))


def _indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> int:
    return measure(s) + (_text(s).count("\n") + 1) * _width(width)


def _wordwrap(s: Any, width: Any = 79, break_long_words: bool = True, wrapstring: Any = None, *_: Any) -> int:
    return measure(s) * (1 + _width(wrapstring or "\n"))  # a break at most every character


def _format(value: Any, *args: Any, **kwargs: Any) -> int:
    return printf_size(_text(value), kwargs or args)


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> int:
    return replace_size(_text(s), _text(old), _text(new), count)


def _join(value: list[Any], d: Any = "", attribute: Any = None) -> int:
    return join_size(_text(d), value)


def _batch(value: Any, linecount: Any, fill_with: Any = None) -> int:
    return measure(value) + (0 if fill_with is None else _width(linecount) * (measure(fill_with) + 4))


def _slice(value: Any, slices: Any, fill_with: Any = None) -> int:
    return measure(value) + _width(slices) * (measure(fill_with) + 4)


def _tojson(value: Any, indent: Any = None) -> int:
    if _width(indent) > _TOJSON_INDENT:
        raise LimitError(f"tojson indents by at most {_TOJSON_INDENT}", "use a smaller indent")
    return measure(value) * (1 + _width(indent))


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> int:
    if not isinstance(start, (int, float)):  # lists added one by one: quadratic, and huge
        raise LimitError("the sum filter adds numbers only", "remove `start`, or join the lists another way")
    return 0


def _urlize(
    value: Any,
    trim_url_limit: Any = None,
    nofollow: bool = False,
    target: Any = None,
    rel: Any = None,
    *_: Any,
) -> int:
    return measure(value) * (4 + _width(target or "") + _width(rel or ""))  # each link written twice


_FILTER_ESTIMATES: dict[str, Callable[..., int]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "join": _join,
    "batch": _batch,
    "slice": _slice,
    "tojson": _tojson,
    "sum": _sum,
    "urlize": _urlize,
}


def limited_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, counted as a step; its arguments measured, its result's size estimated or checked."""
    estimate = _FILTER_ESTIMATES.get(name)
    # Jinja passes its context, eval context or environment first to the filters that ask for it.
    injected = 1 if getattr(function, "jinja_pass_arg", None) else 0
    what = f"the {name} filter"

    @functools.wraps(function)  # keeps jinja_pass_arg: Jinja passes what it did
    def limited(*args: Any, **kwargs: Any) -> Any:
        budget().step()
        for arg in itertools.chain(args[injected:], kwargs.values()):
            produced(arg, f"the value given to {what}")
        if name == "join" and len(args) > injected:  # made a list once, to measure it and then join it
            args = (*args[:injected], list(args[injected]), *args[injected + 1 :])
        if estimate is not None:
            refuse_estimate(estimate(*args[injected:], **kwargs), what, "use a smaller width, count or value")
        return produced(function(*args, **kwargs), what)

    return limited


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's lipsum, refused when n paragraphs of up to `max` words would be too long."""
    words = (n if isinstance(n, int) else 0) * (max if isinstance(max, int) else 0)
    refuse_estimate(words * 12, "lipsum()", "ask for fewer paragraphs or words")
    return generate_lorem_ipsum(n, html, min, max)
