"""A run's batches as they finish, told to whoever watches in this process.

`postdeck publish` runs the flow in its own process and watches, to draw a live display on stderr; in a
worker nobody watches, and telling costs a loop over an empty list. Prefect stays out: the flow calls
`batch_done`, the CLI calls `watching`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Watcher = Callable[[int, int, str], None]  # (batches done, batches in all, the batch just done)

_watchers: list[Watcher] = []


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    _watchers.append(watcher)
    try:
        yield
    finally:
        _watchers.remove(watcher)


def batch_done(done: int, total: int, batch: str) -> None:
    for watcher in list(_watchers):
        watcher(done, total, batch)
