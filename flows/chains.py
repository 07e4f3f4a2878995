"""The provider chain a flow run publishes through: real credentials, or the sandbox when asked.

`sandbox=True` uses simulators that are already running when POSTDECK_SANDBOX_POSTFORME_URL and
POSTDECK_SANDBOX_LATE_URL say where (`postdeck sandbox`, or a test's), and otherwise starts embedded
ones for the length of the run. The sandbox is only ever used when asked for: never as a fallback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from postdeck.errors import CredentialsError
from postdeck.flows.limits import provider_slot
from postdeck.ledger.base import LedgerWriter
from postdeck.ledger.credentials import CredentialStore
from postdeck.providers.chain import Chain
from postdeck.providers.factory import build_chain, chain_links, close_chain, sandbox_links

SANDBOX_URL_ENV = ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL")


@contextmanager
def publishing_chain(
    owner: str | None, ledger: LedgerWriter, *, sandbox: bool, secret_blocks: dict[str, str] | None = None
) -> Iterator[Chain]:
    with _links(owner, ledger, sandbox=sandbox, secret_blocks=secret_blocks or {}) as links:
        chain = build_chain(links, ledger, guard=provider_slot)
        try:
            yield chain
        finally:
            close_chain(chain)


@contextmanager
def _links(owner: str | None, ledger: LedgerWriter, *, sandbox: bool, secret_blocks: dict[str, str]):
    if not sandbox:
        yield chain_links(
            owner, store=CredentialStore(ledger), environ={**os.environ, **_secret_keys(secret_blocks)}
        )
        return
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    keys = {"postforme_key": SANDBOX_POSTFORME_KEY, "late_key": SANDBOX_LATE_KEY}
    postforme_url, late_url = (os.environ.get(name) for name in SANDBOX_URL_ENV)
    if postforme_url and late_url:
        yield sandbox_links(postforme_url, late_url, **keys)
        return
    with start_sandbox() as box:
        yield sandbox_links(box.postforme_url, box.late_url, **keys)


def _secret_keys(secret_blocks: dict[str, str]) -> dict[str, str]:
    """Provider keys from Prefect Secret blocks named in the parameters (the names, never the values)."""
    if not secret_blocks:
        return {}
    from prefect.blocks.system import Secret

    env_names = {"postforme": "POSTFORME_API_KEY", "late": "LATE_API_KEY"}
    unknown = set(secret_blocks) - set(env_names)
    if unknown:
        raise CredentialsError(f"secret_blocks: unknown provider {sorted(unknown)}; use postforme or late")
    return {env_names[provider]: Secret.load(block).get() for provider, block in secret_blocks.items()}
