"""Prefect's functions made with @async_dispatch (Block.load and .save, Automation.read and .create,
create_progress_artifact, ...) return a coroutine when called inside an event loop, their result
otherwise, and are typed as either (some, like Automation.read's overloads, as the coroutine only).
postdeck calls them only from synchronous code (flows, tasks, commands): `synchronous(...)` says so
to the type checker, and changes nothing at run time."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
def synchronous(result: Coroutine[Any, Any, T]) -> T: ...


@overload
def synchronous(result: T | Coroutine[Any, Any, T]) -> T: ...


def synchronous(result: object) -> object:
    """`result`, as the synchronous call returned it (never a coroutine outside an event loop)."""
    return result  # the overloads above say what it is: @async_dispatch's typing has both outcomes
