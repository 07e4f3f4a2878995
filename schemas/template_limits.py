"""CPU and memory limits for rendering untrusted caption templates.

Jinja's sandbox keeps a template away from Python's internals, not from the CPU or the memory: two
lines can loop 10^10 times or build a 10^9-character string. Within one render:

* steps: loop iterations, calls and filters together are at most MAX_STEPS;
* size: no value, and no caption, is longer than MAX_TEXT characters. Operations that multiply
  (`*`, `**`, widths, repeat counts, `join`, `replace`, format specs, lipsum) are estimated before
  they run; anything else is checked after it ran, on values that grew at most linearly;
* work: the characters built, written and read over the whole render are at most MAX_WORK (a
  loop that builds many values, each under the size limit).

Sizes are estimates of what str() of a value makes, counted only up to just past the limit, so
measuring a huge or self-containing list stays cheap. The hooks are LimitedEnvironment's (binary
operators, calls, str.format, every filter, every `{{ }}` output) and a rewrite of each parsed
template that routes `for` loops, `~` and slices through the counting functions below. render.py
turns a LimitError into a CampaignError at the caption.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import string
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum, pass_eval_context
from jinja2.visitor import NodeTransformer

MAX_STEPS = 10_000  # a caption loops over a few items; this is 100 times more than any needs
MAX_TEXT = 256_000  # far above any platform's caption limit (63,206 characters on Facebook)
MAX_WORK = 8 * MAX_TEXT
MAX_NESTING = 100  # as in campaign files (source.py)
MAX_DIGITS = 4_000  # Python refuses to print an integer past 4,300 digits anyway
_TOJSON_INDENT = 8  # output grows with indent × depth, which the estimate does not know


class LimitError(jinja2.TemplateRuntimeError):
    """A template over one of the limits: says which, and what to change."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


# --- the budget of one render ----------------------------------------------------------------------


@dataclass
class _Budget:
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


_BUDGET: ContextVar[_Budget | None] = ContextVar("postdeck_template_budget", default=None)


def render(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """Render with a budget of its own (a context variable: safe across threads), stopping at MAX_TEXT."""
    token = _BUDGET.set(_Budget())
    try:
        return join_output(template.generate(**variables))
    finally:
        _BUDGET.reset(token)


def _budget() -> _Budget:
    # Outside a render (Jinja folds constants while compiling) a fresh budget: sizes still checked.
    return _BUDGET.get() or _Budget()


# --- sizes -----------------------------------------------------------------------------------------

_DONE = object()
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS = (list, tuple, set, frozenset, *_VIEWS)  # not range: str() of one is short


def measure(value: Any, limit: int = MAX_TEXT) -> int:
    """About how many characters str(value) makes, counted only up to just past `limit`.

    Looks inside builtin containers, dicts and namespaces only: iterating any other object could
    run template code (a macro) or use it up (a loop, a generator).
    """
    if type(value) is str:
        return len(value)
    total = 0
    pending: list[Iterator[Any]] = [iter((value,))]
    while pending and total <= limit:
        item = next(pending[-1], _DONE)
        if item is _DONE:
            pending.pop()
            continue
        flat = _flat_size(item)
        if flat is not None:
            total += flat
            continue
        total += 2  # brackets, or a separator
        inner = _contents(item)
        if inner is not None:
            pending.append(inner)
            if len(pending) > MAX_NESTING:  # also ends a list that contains itself, fast
                raise LimitError(
                    f"a value is nested more than {MAX_NESTING} levels deep", "build flatter values"
                )
        else:
            total += _own_size(item)
    return total


def _flat_size(item: Any) -> int | None:
    """The size of a string, or of a list of strings or of numbers, at C speed; None for others."""
    if isinstance(item, str):
        return len(item) + 4  # quotes and a separator, inside a container
    if isinstance(item, (list, tuple)):
        kinds = set(map(type, item))
        if kinds <= {str}:
            return sum(map(len, item)) + 4 * len(item) + 2
        if kinds <= {int, bool}:
            return sum(map(int.bit_length, item)) * 3 // 10 + 4 * len(item) + 2
    return None


def _own_size(item: Any) -> int:
    if isinstance(item, (bytes, bytearray)):
        return 4 * len(item) + 3  # repr: up to \xNN a byte
    if isinstance(item, int):
        return item.bit_length() * 3 // 10 + 2
    if isinstance(item, (float, type(None), range)):
        return 24
    return 64  # another object's repr: a name and an address


def _contents(item: Any) -> Iterator[Any] | None:
    if isinstance(item, dict):
        return itertools.chain.from_iterable(item.items())
    if isinstance(item, Namespace):
        return _contents(item._Namespace__attrs)
    if isinstance(item, _CONTAINERS):
        return iter(item)
    return None


def _refuse_estimate(size: int, what: str, fix: str) -> None:
    if size > MAX_TEXT:
        raise LimitError(f"{what} would make about {size:,} characters, over the limit of {MAX_TEXT:,}", fix)


def produced(value: Any, what: str) -> Any:
    """A value the template built or writes: charged to the budget, refused past MAX_TEXT."""
    size = measure(value)
    if size > MAX_TEXT:
        raise LimitError(f"{what} makes a value of more than {MAX_TEXT:,} characters", "build smaller values")
    _budget().charge(size)
    return value


def finalize(value: Any) -> Any:
    """Every `{{ }}` output, measured before str() makes it text."""
    return produced(value, "an output")


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


# --- operators -------------------------------------------------------------------------------------

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
            _refuse_estimate(measure(seq) * max(times, 0), "`*`", "repeat fewer times")
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _refuse_estimate(measure(left) + measure(right), "`+`", "build smaller values")
    elif operator == "%" and isinstance(left, str):
        _refuse_estimate(printf_size(left, right), "a % format", "use smaller widths or values")


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


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _padded(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    width = _arg(args, kwargs, 0, "width", 0)
    return max(len(owner), width if isinstance(width, int) else 0), args


def _tabs(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    size = _arg(args, kwargs, 0, "tabsize", 8)
    return len(owner) * max(size if isinstance(size, int) else 0, 1), args


def _replaced(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    old, new, count = (
        _arg(args, kwargs, 0, "old", ""),
        _arg(args, kwargs, 1, "new", ""),
        _arg(args, kwargs, 2, "count", -1),
    )
    return replace_size(owner, old, new, count), args


def _joined(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    items = list(args[0]) if args else []  # made a list once, to measure it and then join it
    return join_size(owner, items), (items, *args[1:])


def _translated(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    table = args[0] if args else {}
    values = table.values() if isinstance(table, Mapping) else table if isinstance(table, _SEQUENCES) else ()
    longest = max((len(v) for v in values if isinstance(v, str)), default=1)
    return len(owner) * max(longest, 1), args


def _bytes_long(owner: Any, args: tuple, kwargs: dict) -> tuple[int, tuple]:
    length = _arg(args, kwargs, 0, "length", 1)
    return (length if isinstance(length, int) else 0), args


def replace_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not isinstance(text, (str, bytes)) or type(old) is not type(text) or type(new) is not type(text):
        return 0  # the call fails on its own
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * len(new)


def join_size(separator: Any, items: list[Any]) -> int:
    return sum(map(measure, items)) + len(separator) * len(items)


_TEXT_METHODS: dict[str, Callable[[Any, tuple, dict], tuple[int, tuple]]] = {
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


def check_call(function: Any, args: tuple, kwargs: dict) -> tuple:
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
    _refuse_estimate(size, f"`{function.__name__}()`", "use a smaller width or count")
    return args


def _grows(function: Any) -> bool:
    """A method that may grow its list or dict in place (l.append, d.update): by what it is given."""
    return isinstance(function, types.BuiltinMethodType) and isinstance(function.__self__, _MUTABLE)


def _name(function: Any) -> str:
    return str(getattr(function, "__name__", None) or getattr(function, "name", None) or "a call")


# --- filters and globals ---------------------------------------------------------------------------


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
        _budget().step()
        for arg in itertools.chain(args[injected:], kwargs.values()):
            produced(arg, f"the value given to {what}")
        if name == "join" and len(args) > injected:  # made a list once, to measure it and then join it
            args = (*args[:injected], list(args[injected]), *args[injected + 1 :])
        if estimate is not None:
            _refuse_estimate(
                estimate(*args[injected:], **kwargs), what, "use a smaller width, count or value"
            )
        return produced(function(*args, **kwargs), what)

    return limited


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's lipsum, refused when n paragraphs of up to `max` words would be too long."""
    words = (n if isinstance(n, int) else 0) * (max if isinstance(max, int) else 0)
    _refuse_estimate(words * 12, "lipsum()", "ask for fewer paragraphs or words")
    return generate_lorem_ipsum(n, html, min, max)


# --- the rewrite of parsed templates ---------------------------------------------------------------


def iterate(iterable: Any, body_text: int) -> Iterator[Any]:
    """A `for` loop's items: each one a step, charged the literal text its body writes."""
    current = _budget()
    for item in iterable:
        current.step()
        current.charge(body_text)
        yield item


@pass_eval_context
def concat(eval_ctx: Any, *parts: Any) -> str:
    """`a ~ b ~ c`, measured before str() makes each part text."""
    _refuse_estimate(sum(map(measure, parts)), "`~`", "join smaller values")
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def sliced(value: Any) -> Any:
    return produced(value, "a slice")


def charge_text(size: int) -> str:
    """A template's literal text, charged each time it is rendered (an include in a loop)."""
    _budget().charge(size)
    return ""


def _call(name: str, lineno: int, *args: nodes.Expr) -> nodes.Call:
    call = nodes.Call(nodes.ImportedName(f"{__name__}.{name}"), list(args), [], None, None)
    return call.set_lineno(lineno)


def _literal_text(body: list[nodes.Node]) -> int:
    return sum(len(data.data) for statement in body for data in statement.find_all(nodes.TemplateData))


class _Rewrite(NodeTransformer):
    """Routes `for` loops, `~` and slices through the functions above; charges the template's own text."""

    def visit_Template(self, node: nodes.Template) -> nodes.Template:
        self.generic_visit(node)
        node.body.insert(0, nodes.Output([_call("charge_text", 1, nodes.Const(_literal_text(node.body)))]))
        return node

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = _call("iterate", node.lineno, node.iter, nodes.Const(_literal_text(node.body)))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return _call("concat", node.lineno, *node.nodes)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Expr:
        self.generic_visit(node)  # Jinja slices without the environment's getitem: a copy, charged here
        return _call("sliced", node.lineno, node) if isinstance(node.arg, nodes.Slice) else node


# --- the environment -------------------------------------------------------------------------------


class LimitedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with the limits above."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=finalize, **options)
        self.globals["lipsum"] = lipsum
        self.filters = {name: limited_filter(name, function) for name, function in self.filters.items()}

    def compile(
        self, source: Any, name: Any = None, filename: Any = None, raw: bool = False, defer_init: bool = False
    ) -> Any:
        if isinstance(source, str):
            source = self.parse(source, name, filename)
        _Rewrite().visit(source)
        source.set_environment(self)
        return super().compile(source, name, filename, raw, defer_init)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return produced(self.binop_table[operator](left, right), f"`{operator}`")

    def call(self, context: Context, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        _budget().step()
        args = check_call(function, args, kwargs)
        if _grows(function):  # charged what it adds: measuring the whole list each time is quadratic
            for arg in itertools.chain(args, kwargs.values()):
                _budget().charge(measure(arg))
        return produced(super().call(context, function, *args, **kwargs), f"`{_name(function)}()`")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        text, by_name = value.__self__, value.__name__ == "format_map"

        @functools.wraps(formatter)
        def checked(*args: Any, **kwargs: Any) -> str:
            values = (
                args[0].values()
                if by_name and args and isinstance(args[0], Mapping)
                else (*args, *kwargs.values())
            )
            _refuse_estimate(format_size(text, values), "`format()`", "use smaller widths or values")
            return formatter(*args, **kwargs)

        return checked
