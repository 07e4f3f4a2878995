"""The provider chain of the service, the provider classes' callers and the everyday commands.

Like flows/chains.py, without Prefect: the flow's chain reserves Prefect concurrency slots for its run,
which would need a Prefect server for a one-off `postdeck post`. Both take their links from
postdeck.chain_factory.run_links (the keys, or the sandbox only when asked for).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from postdeck.chain_factory import build_chain, close_chain, run_links
from postdeck.providers.chain import Chain


@contextmanager
def service_chain(owner: str | None, ledger: Any, *, sandbox: bool) -> Iterator[Chain]:
    """The owner's keys, then the global ones, in the seed's order; or the simulators."""
    with run_links(owner, ledger, sandbox=sandbox) as links:
        chain = build_chain(links, ledger)
        try:
            yield chain
        finally:
            close_chain(chain)
