"""Which ledger a run uses: Supabase when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set, else the
local SQLite file (POSTDECK_LEDGER or .postdeck/ledger.db), journaled unless asked otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, overload

from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger
from postdeck.ledger.journal import Journal, JournaledLedger
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.settings import settings


def open_backend(environ: Mapping[str, str] | None = None, *, path: str | Path | None = None) -> Ledger:
    """The bare backend (SqliteLedger or SupabaseLedger), without the journal."""
    config = settings(environ)
    url, key = config.supabase_url, config.get("SUPABASE_SERVICE_ROLE_KEY")
    if url and key:
        from postdeck.ledger.supabase import SupabaseLedger  # supabase-py loads only when used

        return SupabaseLedger(url, key)
    if url:
        # Silently falling back to a local file would hide production outcomes on one machine.
        raise LedgerError(
            "SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY is not: set both to record in Supabase, "
            "or unset SUPABASE_URL to use the local SQLite ledger"
        )
    return SqliteLedger(path)


@overload
def open_ledger(
    environ: Mapping[str, str] | None = None,
    *,
    path: str | Path | None = None,
    journal: Journal | Literal[True] = True,
) -> JournaledLedger: ...


@overload
def open_ledger(
    environ: Mapping[str, str] | None = None, *, path: str | Path | None = None, journal: Literal[False]
) -> Ledger: ...


def open_ledger(
    environ: Mapping[str, str] | None = None,
    *,
    path: str | Path | None = None,
    journal: Journal | bool = True,
) -> Ledger:
    """The ledger for publishing: the configured backend behind the outcome journal (a JournaledLedger,
    whose `.journal` `ledger flush` and `ledger status` read), or with journal=False the bare backend."""
    backend = open_backend(environ, path=path)
    if journal is False:
        return backend
    return JournaledLedger(backend, journal if isinstance(journal, Journal) else Journal())
