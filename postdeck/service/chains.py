"""The provider chain of the service, the provider classes' callers and the everyday commands.

Like flows/chains.py, without Prefect: the flow's chain reserves Prefect concurrency slots for its run,
which would need a Prefect server for a one-off `postdeck post`. The sandbox is used
only when asked for, never as a fallback: the simulators of POSTDECK_SANDBOX_POSTFORME_URL and
POSTDECK_SANDBOX_LATE_URL when both are set (`postdeck sandbox`, tests), else embedded ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from postdeck.ledger.credentials import CredentialStore
from postdeck.providers.chain import Chain, Link
from postdeck.providers.factory import build_chain, chain_links, close_chain, sandbox_links

SANDBOX_URL_ENV = ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL")


@contextmanager
def service_chain(owner: str | None, ledger: Any, *, sandbox: bool) -> Iterator[Chain]:
    """The owner's keys, then the global ones, in the seed's order; or the simulators."""
    with _links(owner, ledger, sandbox=sandbox) as links:
        chain = build_chain(links, ledger)
        try:
            yield chain
        finally:
            close_chain(chain)


@contextmanager
def _links(owner: str | None, ledger: Any, *, sandbox: bool) -> Iterator[list[Link]]:
    if not sandbox:
        yield chain_links(owner, store=CredentialStore(ledger))
        return
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    keys = {"postforme_key": SANDBOX_POSTFORME_KEY, "late_key": SANDBOX_LATE_KEY}
    postforme_url, late_url = (os.environ.get(name) for name in SANDBOX_URL_ENV)
    if postforme_url and late_url:
        yield sandbox_links(postforme_url, late_url, **keys)
        return
    with start_sandbox() as box:
        yield sandbox_links(box.postforme_url, box.late_url, **keys)
