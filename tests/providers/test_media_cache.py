"""The media cache is kept per provider account: two owners' keys at one provider never share an
uploaded file's URL (their chain links are both `postforme:owner`), and the ledger stores a
fingerprint of the key, never the key.

Real PostForMeClients against the Post for Me simulator over loopback, the keys saved encrypted with
`credentials set` in a SQLite ledger, the links built by postdeck.chain_factory as a run builds them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from postdeck.chain_factory import build_chain, chain_links, close_chain
from postdeck.ledger.credentials import CredentialStore
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.providers.media import key_fingerprint, sha256_of, upload_scope
from postdeck.providers.postforme import PostForMeClient
from postdeck.sandbox.postforme_app import PostForMeSim, create_app
from postdeck.sandbox.server import SandboxServer
from postdeck.schemas.media import MediaRef
from tests.fakes import FakeProvider

KEY_A = "pfm-owner-a-key-5c0ffee1d2e3"
KEY_B = "pfm-owner-b-key-9beef7a3c4f5"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[PostForMeSim]:
    sim = PostForMeSim(api_keys={KEY_A, KEY_B})
    with SandboxServer(create_app(sim)) as server:
        sim.upload_base = server.url
        monkeypatch.setenv("POSTFORME_BASE_URL", server.url)  # where chain_links' clients go
        yield sim


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.db")


@pytest.fixture
def store(ledger: SqliteLedger) -> CredentialStore:
    store = CredentialStore(ledger, encryption_key=Fernet.generate_key().decode())
    store.save("owner-a", "postforme", KEY_A)
    store.save("owner-b", "postforme", KEY_B)
    return store


@pytest.fixture
def image(tmp_path: Path) -> MediaRef:
    path = tmp_path / "cover.png"
    path.write_bytes(PNG)
    return MediaRef(source="cover.png", path=path, sha256=sha256_of(PNG), content_type="image/png")


def upload_as(owner: str, ledger: SqliteLedger, store: CredentialStore, image: MediaRef) -> str:
    """What a run for `owner` gets as the image's URL (a new chain, as every run builds its own)."""
    [link] = chain_links(owner, store=store, environ={})
    assert link.label == "postforme:owner"
    chain = build_chain([link], ledger)
    try:
        [url] = chain.media_urls(link, [image])
    finally:
        close_chain(chain)
    return url


def test_two_owners_keys_at_one_provider_never_share_a_cached_upload(
    sim: PostForMeSim, ledger: SqliteLedger, store: CredentialStore, image: MediaRef
) -> None:
    url_a = upload_as("owner-a", ledger, store, image)
    url_b = upload_as("owner-b", ledger, store, image)
    assert url_b != url_a and sim.stats()["uploads"] == 2  # B's account got its own copy

    # A later run of either owner finds its own URL in the ledger: nothing is uploaded again.
    assert upload_as("owner-a", ledger, store, image) == url_a
    assert upload_as("owner-b", ledger, store, image) == url_b
    assert sim.stats()["uploads"] == 2


def test_the_cache_stores_a_fingerprint_of_the_key_never_the_key(
    sim: PostForMeSim, ledger: SqliteLedger, store: CredentialStore, image: MediaRef
) -> None:
    upload_as("owner-a", ledger, store, image)
    upload_as("owner-b", ledger, store, image)

    with sqlite3.connect(ledger.path) as conn:
        rows = conn.execute(
            "SELECT sha256, provider, media_url FROM media_uploads ORDER BY provider"
        ).fetchall()
    scopes = {provider for _, provider, _ in rows}
    assert scopes == {
        f"postforme:{hashlib.sha256(KEY_A.encode()).hexdigest()[:16]}",
        f"postforme:{hashlib.sha256(KEY_B.encode()).hexdigest()[:16]}",
    }
    assert {sha for sha, _, _ in rows} == {image.sha256}
    stored = [str(value) for row in rows for value in row]
    files = [p.read_bytes() for p in ledger.path.parent.glob(ledger.path.name + "*")]  # the file and its WAL
    for key in (KEY_A, KEY_B):
        assert not any(key in value for value in stored)
        assert not any(key.encode() in data for data in files)


def test_the_upload_scope_is_the_provider_and_the_key_fingerprint() -> None:
    client = PostForMeClient(api_key=KEY_A, base_url="http://127.0.0.1:9")
    try:
        fingerprint = key_fingerprint(KEY_A)
        assert len(fingerprint) == 16 and KEY_A not in fingerprint
        assert client.key_fingerprint == fingerprint
        assert upload_scope("postforme:owner", client) == f"postforme:{fingerprint}"
        assert upload_scope("postforme:global", client) == f"postforme:{fingerprint}"  # the same account
        assert KEY_A not in repr(client) and KEY_A not in str(vars(client).get("key_fingerprint"))
    finally:
        client.close()
    # A provider that cannot name its account (a test double) keeps its chain label.
    assert upload_scope("f:g", FakeProvider("first")) == "f:g"
