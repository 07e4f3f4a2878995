"""The ledger seam's Protocols: every backend, and the journal around one, offers each member with
the Protocol's own signature (nothing checks Protocols at run time, so this does)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from postdeck.ledger import base
from postdeck.ledger.base import Ledger, LedgerWriter
from postdeck.ledger.factory import open_backend, open_ledger
from postdeck.ledger.journal import Journal, JournaledLedger
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger

SMALL = (
    base.LedgerReader,
    base.DeliveryClaims,
    base.RunStamps,
    base.SocialPostLog,
    base.MediaUrlCache,
    base.AccountListCache,
    base.PostHistory,
    base.DeliverySearch,
    base.CampaignRuns,
    base.CancelPins,
)


def members(protocol: type) -> dict[str, object]:
    found: dict[str, object] = {}
    for cls in reversed(protocol.__mro__):
        if getattr(cls, "_is_protocol", False) and cls.__module__ == base.__name__:
            found.update((n, v) for n, v in vars(cls).items() if not n.startswith("_"))
    return found


def parameters(function: object) -> list[tuple[str, object, bool]]:
    """Names, kinds and whether each has a default: what a caller relies on (not annotations)."""
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default is not p.empty) for p in signature.parameters.values()]


def test_the_writer_is_exactly_the_small_protocols_and_the_ledger_adds_the_rest() -> None:
    writes = (
        base.LedgerReader,
        base.DeliveryClaims,
        base.RunStamps,
        base.SocialPostLog,
        base.MediaUrlCache,
        base.AccountListCache,
    )
    assert set(members(LedgerWriter)) == {name for p in writes for name in members(p)}
    assert len(members(LedgerWriter)) == 19  # 3 reads, 16 writes (renew_claims: the heartbeat; stamp_run)
    assert set(members(Ledger)) == {name for p in SMALL for name in members(p)} | {"ident"}


@pytest.mark.parametrize("backend", [SqliteLedger, SupabaseLedger, JournaledLedger])
@pytest.mark.parametrize("protocol", SMALL, ids=lambda p: p.__name__)
def test_each_implementation_has_every_member_with_its_signature(protocol: type, backend: type) -> None:
    for name, declared in members(protocol).items():
        if backend is JournaledLedger and name not in vars(JournaledLedger):
            continue  # delegated to the backend by __getattr__ (see the next test)
        assert hasattr(backend, name), f"{backend.__name__} has no {name}"
        assert parameters(getattr(backend, name)) == parameters(declared), f"{backend.__name__}.{name}"


def test_the_journal_hands_what_it_does_not_wrap_to_the_backend(tmp_path: Path) -> None:
    inner = SqliteLedger(tmp_path / "l.db")
    ledger = JournaledLedger(inner, Journal(tmp_path / "j.jsonl"))
    for name in members(Ledger):
        assert getattr(ledger, name) is not None, name
    assert ledger.find_deliveries.__self__ is inner  # type: ignore[attr-defined]
    assert ledger.ident == inner.ident


def test_open_ledger_and_open_backend_give_ledgers(tmp_path: Path) -> None:
    assert isinstance(open_backend({}, path=tmp_path / "a.db"), SqliteLedger)
    assert isinstance(open_ledger({}, path=tmp_path / "b.db"), JournaledLedger)
    assert isinstance(open_ledger({}, path=tmp_path / "c.db", journal=False), SqliteLedger)
