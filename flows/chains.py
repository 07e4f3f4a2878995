"""The provider chain a flow run publishes through: real credentials, or the sandbox when asked.

`sandbox=True` uses simulators that are already running when POSTDECK_SANDBOX_POSTFORME_URL and
POSTDECK_SANDBOX_LATE_URL say where (`postdeck sandbox`, or a test's), and otherwise starts embedded
ones for the length of the run. The sandbox is only ever used when asked for: never as a fallback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.credentials import CredentialStore
from postdeck.providers.chain import Chain
from postdeck.providers.factory import build_chain, chain_links, close_chain, sandbox_links

SANDBOX_URL_ENV = ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL")


@contextmanager
def publishing_chain(owner: str | None, ledger: LedgerWriter, *, sandbox: bool) -> Iterator[Chain]:
    with _links(owner, ledger, sandbox=sandbox) as links:
        chain = build_chain(links, ledger)
        try:
            yield chain
        finally:
            close_chain(chain)


@contextmanager
def _links(owner: str | None, ledger: LedgerWriter, *, sandbox: bool):
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
