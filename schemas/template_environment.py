"""LimitedEnvironment: Jinja's sandbox with the limits of template_limits.py, hooked into its binary
operators, calls, str.format, filters and `{{ }}` outputs, and a rewrite of each parsed template that
routes `for` loops, `~` and slices through the counting functions here.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import pass_eval_context
from jinja2.visitor import NodeTransformer

from postdeck.schemas.template_estimates import call_name, check_binop, check_call, format_size, grows
from postdeck.schemas.template_filters import limited_filter, lipsum
from postdeck.schemas.template_limits import budget
from postdeck.schemas.template_sizes import finalize, measure, produced, refuse_estimate


def iterate(iterable: Any, body_text: int) -> Iterator[Any]:
    """A `for` loop's items: each one a step, charged the literal text its body writes."""
    current = budget()
    for item in iterable:
        current.step()
        current.charge(body_text)
        yield item


@pass_eval_context
def concat(eval_ctx: Any, *parts: Any) -> str:
    """`a ~ b ~ c`, measured before str() makes each part text."""
    refuse_estimate(sum(map(measure, parts)), "`~`", "join smaller values")
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def sliced(value: Any) -> Any:
    return produced(value, "a slice")


def charge_text(size: int) -> str:
    """A template's literal text, charged each time it is rendered (an include in a loop)."""
    budget().charge(size)
    return ""


def _call(name: str, lineno: int, *args: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.ImportedName(f"{__name__}.{name}"), list(args), [], None, None)
    call.set_lineno(lineno)
    return call


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
        # raw goes through as given: the overloads of compile() only split its return type on it.
        return super().compile(source, name, filename, raw, defer_init)  # type: ignore[call-overload]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return produced(self.binop_table[operator](left, right), f"`{operator}`")

    def call(self, context: Context, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget().step()
        args = check_call(function, args, kwargs)
        if grows(function):  # charged what it adds: measuring the whole list each time is quadratic
            for arg in itertools.chain(args, kwargs.values()):
                budget().charge(measure(arg))
        return produced(super().call(context, function, *args, **kwargs), f"`{call_name(function)}()`")

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
            refuse_estimate(format_size(text, values), "`format()`", "use smaller widths or values")
            return formatter(*args, **kwargs)

        return checked
