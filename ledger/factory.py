"""Which ledger a run uses: Supabase when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set, else the
local SQLite file (POSTDECK_LEDGER or .postdeck/ledger.db), journaled unless asked otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from postdeck.errors import LedgerError
from postdeck.ledger.journal import Journal, JournaledLedger
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.settings import settings


def open_backend(environ: Mapping[str, str] | None = None, *, path: str | Path | None = None) -> Any:
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


def open_ledger(
    environ: Mapping[str, str] | None = None,
    *,
    path: str | Path | None = None,
    journal: Journal | bool = True,
) -> Any:
    """The ledger for publishing: the configured backend behind the outcome journal."""
    backend = open_backend(environ, path=path)
    if journal is False:
        return backend
    return JournaledLedger(backend, journal if isinstance(journal, Journal) else Journal())
