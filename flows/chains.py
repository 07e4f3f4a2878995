"""The provider chain a flow run publishes through: real credentials, or the sandbox when asked.

`sandbox=True` uses simulators that are already running when POSTDECK_SANDBOX_POSTFORME_URL and
POSTDECK_SANDBOX_LATE_URL say where (`postdeck sandbox`, or a test's), and otherwise starts embedded
ones for the length of the run. The sandbox is only ever used when asked for: never as a fallback.
Provider calls are capped as flows.limits says: `caps.call` is the chain's guard, and every task
that publishes holds `caps.batch()` around its provider phase.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from postdeck.chain_factory import build_chain, run_links
from postdeck.errors import CredentialsError
from postdeck.flows.dispatch import synchronous
from postdeck.flows.limits import ProviderCaps
from postdeck.ledger.base import LedgerWriter
from postdeck.providers.chain import Chain, Link, MediaCache
from postdeck.schemas.media import MediaRef

log = logging.getLogger("postdeck.flows")


@dataclass(frozen=True)
class Publishing:
    """A run's chain and the caps its provider calls go through (tasks take both)."""

    chain: Chain
    caps: ProviderCaps


@contextmanager
def publishing_chain(
    owner: str | None, ledger: LedgerWriter, *, sandbox: bool, secret_blocks: dict[str, str] | None = None
) -> Iterator[Publishing]:
    environ = {**os.environ, **_secret_keys(secret_blocks or {})} if not sandbox else None
    with run_links(owner, ledger, sandbox=sandbox, environ=environ) as links:
        try:
            caps = ProviderCaps.for_providers(link.provider.name for link in links)
            chain = build_chain(links, ledger, guard=caps.call)
            chain.media_cache = RunMediaCache(chain.media_cache)
            yield Publishing(chain, caps)
        finally:
            _close(links)


class RunMediaCache(MediaCache):
    """The ledger's media cache, with what this run learnt kept in memory. Every batch looks its media
    up under the chain's one upload lock: a ledger read there (tens of ms with 16 batches writing) made
    all the batches of a run queue behind each other."""

    def __init__(self, inner: MediaCache) -> None:
        self.inner = inner
        self._known: dict[tuple[str, str], str] = {}

    def get(self, sha256: str, provider: str) -> str | None:
        key = (sha256, provider)
        if key not in self._known:
            url = self.inner.get(sha256, provider)
            if url:
                self._known[key] = url
        return self._known.get(key)

    def put(self, sha256: str, provider: str, url: str) -> None:
        self.inner.put(sha256, provider, url)
        self._known[(sha256, provider)] = url


def _close(links: list[Link]) -> None:
    for link in links:
        link.provider.close()


@contextmanager
def warming_up(run: Publishing, shared_media: Sequence[MediaRef]) -> Iterator[None]:
    """Find the first provider's accounts (the ledger's kept list, or a listing) and upload the media
    batches share, both at once, while the batches start: every batch would otherwise wait for the one that lists, then for the one that
    uploads. Best effort: a failure here is met again, and reported, by the batches."""
    link = next((link for link in run.chain.links if not link.disabled), None)
    if link is None:
        yield
        return
    jobs: list[Callable[[], object]] = [lambda: run.chain.accounts_of(link)]  # the chain guards it
    if shared_media:
        jobs.append(lambda: run.chain.media_urls(link, shared_media))  # the chain guards each upload
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="postdeck-warm-up") as pool:
        for job in jobs:
            pool.submit(_quietly, run, link, job)
        yield


def _quietly(run: Publishing, link: Link, job: Callable[[], object]) -> None:
    try:
        with run.caps.batch():  # a place in the run's reservation, as any task's
            job()
    except Exception as exc:  # the batches meet it again and report it; nothing is lost here
        log.warning("%s: warm-up failed, the batches will try again: %s", link.label, exc)


def _secret_keys(secret_blocks: dict[str, str]) -> dict[str, str]:
    """Provider keys from Prefect Secret blocks named in the parameters (the names, never the values)."""
    if not secret_blocks:
        return {}
    from prefect.blocks.system import Secret

    env_names = {"postforme": "POSTFORME_API_KEY", "late": "LATE_API_KEY"}
    unknown = set(secret_blocks) - set(env_names)
    if unknown:
        raise CredentialsError(f"secret_blocks: unknown provider {sorted(unknown)}; use postforme or late")
    return {
        env_names[provider]: synchronous(Secret.load(block)).get()
        for provider, block in secret_blocks.items()
    }
