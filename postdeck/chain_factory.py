"""Build the failover chain from whatever credentials exist, in the seed's order: where the provider
clients meet the ledger (a user's stored keys, the media and account caches), so it sits above both.

1. the owner's PostForMe key   2. the owner's LATE key   3. POSTFORME_API_KEY   4. LATE_API_KEY
With --sandbox, the chain is PostForMe then LATE against the local simulators, with sandbox keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypedDict

import httpx

from postdeck.errors import CredentialsError
from postdeck.ledger.base import MediaUrlCache
from postdeck.ledger.credentials import CredentialStore
from postdeck.providers.account_cache import LedgerAccountCache
from postdeck.providers.account_cache import max_age as account_list_max_age
from postdeck.providers.base import Provider
from postdeck.providers.chain import NO_CREDENTIALS, Chain, Guard, Link, MediaCache
from postdeck.providers.late import LateClient
from postdeck.providers.postforme import PostForMeClient
from postdeck.providers.ratelimit import LATE_WINDOWS, POSTFORME_WINDOWS
from postdeck.settings import settings

ClientFactory = Callable[..., Provider]
CLIENTS: dict[str, ClientFactory] = {"postforme": PostForMeClient, "late": LateClient}
ENV_KEYS = {"postforme": "POSTFORME_API_KEY", "late": "LATE_API_KEY"}
# Where simulators already run (`postdeck sandbox`, tests); without both, --sandbox embeds its own.
SANDBOX_URL_ENV = ("POSTDECK_SANDBOX_POSTFORME_URL", "POSTDECK_SANDBOX_LATE_URL")
# Simulators enforcing the documented limits time-scaled (bench/sims.py --limits --scale N): the
# sandbox clients carry the same windows, so they pace themselves instead of collecting 429s.
SANDBOX_RATE_SCALE_ENV = "POSTDECK_SANDBOX_RATE_SCALE"


def credential_store(ledger: Any, **options: Any) -> CredentialStore:
    """The users' keys in `ledger`, with these provider clients to refresh connected platforms."""
    return CredentialStore(ledger, client_factories=CLIENTS, **options)


class _SandboxKeys(TypedDict):
    """The simulators' keys, as sandbox_links takes them."""

    postforme_key: str
    late_key: str


@contextmanager
def run_links(
    owner: str | None, ledger: Any, *, sandbox: bool, environ: Mapping[str, str] | None = None
) -> Iterator[list[Link]]:
    """The links one run or command publishes through: the owner's and the global keys (the seed's
    order), or, only when asked for and never as a fallback, the simulators: those of
    SANDBOX_URL_ENV when both are set, else embedded ones for the length of the block."""
    config = settings(environ)
    if not sandbox:
        yield chain_links(owner, store=credential_store(ledger), environ=environ)
        return
    from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    keys: _SandboxKeys = {"postforme_key": SANDBOX_POSTFORME_KEY, "late_key": SANDBOX_LATE_KEY}
    postforme_url, late_url = (config.get(name) for name in SANDBOX_URL_ENV)
    if postforme_url and late_url:
        yield sandbox_links(postforme_url, late_url, **keys, environ=environ)
        return
    # Embedded simulators enforce the limits the clients assume (none, or POSTDECK_SANDBOX_RATE_SCALE's).
    with start_sandbox(rate_scale=sandbox_rate_scale(environ)) as box:
        yield sandbox_links(box.postforme_url, box.late_url, **keys, environ=environ)


def chain_links(
    owner: str | None,
    *,
    store: CredentialStore | None,
    environ: Mapping[str, str] | None = None,
    http_client: httpx.Client | None = None,
) -> list[Link]:
    config = settings(environ)
    links: list[Link] = []
    if owner and store is not None:
        for provider in ("postforme", "late"):
            stored = store.get(owner, provider)
            if stored is not None:
                client = CLIENTS[provider](api_key=stored.api_key.get_secret_value(), http_client=http_client)
                links.append(Link(f"{provider}:owner", client))
    for provider in ("postforme", "late"):
        key = config.get(ENV_KEYS[provider])
        if key:
            links.append(Link(f"{provider}:global", CLIENTS[provider](api_key=key, http_client=http_client)))
    if not links:
        raise CredentialsError(NO_CREDENTIALS)
    return links


def sandbox_rate_scale(environ: Mapping[str, str] | None = None) -> float | None:
    """POSTDECK_SANDBOX_RATE_SCALE: None when unset or empty, else the number (above 0) every
    documented window's seconds are divided by (1: the real limits)."""
    return settings(environ).sandbox_rate_scale  # finite and above 0, checked there


def sandbox_links(
    postforme_url: str,
    late_url: str,
    *,
    postforme_key: str,
    late_key: str,
    timeout: httpx.Timeout | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Link]:
    """Clients aimed at the simulators. By default no documented limits are assumed for them: a
    simulator says its own in its headers (and 429s), which the clients honour (`postdeck sandbox`'s
    PostForMe enforces none, its LATE 600 a minute, said on every reply).

    With POSTDECK_SANDBOX_RATE_SCALE=N (in `environ`, default os.environ) they carry PostForMe's and
    LATE's documented windows with every window's seconds ÷ N, LATE's announced minute included, as
    simulators enforcing those limits N times faster do (bench/sims.py --limits --scale N); N=1 is
    the real limits. Their limiters are keyed by the scale too (providers.ratelimit.limiter_for), so
    no client built without it shares them."""
    scale = sandbox_rate_scale(environ)
    postforme_windows, late_windows = (POSTFORME_WINDOWS, LATE_WINDOWS) if scale else ((), ())
    return [
        Link(
            "postforme:sandbox",
            PostForMeClient(
                api_key=postforme_key,
                base_url=postforme_url,
                timeout=timeout,
                rate_limits=postforme_windows,
                time_scale=scale,
            ),
        ),
        Link(
            "late:sandbox",
            LateClient(
                api_key=late_key,
                base_url=late_url,
                timeout=timeout,
                rate_limits=late_windows,
                time_scale=scale,
            ),
        ),
    ]


class LedgerMediaCache(MediaCache):
    """Upload each file once per provider account, across runs: the ledger keeps the URL.

    `provider` is the chain's upload scope (providers.media.upload_scope): the provider and the
    fingerprint of the link's key, never the key, and not the label (`postforme:owner` is a
    different account for every owner)."""

    def __init__(self, ledger: MediaUrlCache) -> None:
        self.ledger = ledger

    def get(self, sha256: str, provider: str) -> str | None:
        return self.ledger.cached_media_url(sha256, provider)

    def put(self, sha256: str, provider: str, url: str) -> None:
        self.ledger.cache_media_url(sha256, provider, url)


def build_chain(links: list[Link], ledger, *, guard: Guard | None = None, **options: Any) -> Chain:
    """The chain a run publishes through. `guard(provider name)` wraps every provider call (the flow
    passes its per-provider cap, flows/limits.py); `options` go to Chain (retry policy, breaker...)."""
    return Chain(
        links,
        media_cache=LedgerMediaCache(ledger),
        account_cache=LedgerAccountCache(ledger, account_list_max_age()),
        guard=guard,
        **options,
    )


def close_chain(chain: Chain) -> None:
    for link in chain.links:
        link.provider.close()


__all__ = [
    "SANDBOX_RATE_SCALE_ENV",
    "CredentialsError",
    "build_chain",
    "chain_links",
    "close_chain",
    "credential_store",
    "sandbox_links",
    "sandbox_rate_scale",
]
