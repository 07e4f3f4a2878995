"""Which ledger a run uses: Supabase when SUPABASE_URL and a key are set, else the local SQLite file
(POSTDECK_LEDGER or .postdeck/ledger.db), journaled unless asked otherwise.

The key: SUPABASE_SECRET_KEY (sb_secret_…), or the legacy SUPABASE_SERVICE_ROLE_KEY, for everything;
or, with neither, SUPABASE_PUBLISHABLE_KEY + SUPABASE_PLAN_TOKEN for reading deliveries only (a pull
request's `postdeck plan`): open_backend() then gives the read-only SupabasePlanReader, and
open_ledger(), which publishing uses, refuses at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol, overload, runtime_checkable

from postdeck.errors import LedgerError
from postdeck.ledger.base import Ledger
from postdeck.ledger.journal import Journal, JournaledLedger
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase_keys import server_key
from postdeck.settings import settings


@runtime_checkable
class _ReadOnly(Protocol):
    """A backend that only reads (the SupabasePlanReader): publishing closes it and refuses."""

    read_only: bool

    def close(self) -> None: ...


def open_backend(environ: Mapping[str, str] | None = None, *, path: str | Path | None = None) -> Ledger:
    """The bare backend (SqliteLedger, SupabaseLedger or the read-only SupabasePlanReader), unjournaled."""
    config = settings(environ)
    url, key = config.supabase_url, server_key(config)
    if url and key:
        from postdeck.ledger.supabase import SupabaseLedger  # supabase-py loads only when used

        return SupabaseLedger(url, key[0], key_variable=key[1])
    token, apikey = config.get("SUPABASE_PLAN_TOKEN"), config.get("SUPABASE_PUBLISHABLE_KEY")
    if url and token and apikey:
        from postdeck.ledger.supabase_reads import SupabasePlanReader

        return SupabasePlanReader(url, apikey, token)  # type: ignore[return-value]  # refuses writes
    if url:
        # Silently falling back to a local file would hide production outcomes on one machine.
        missing = "SUPABASE_PUBLISHABLE_KEY" if token else "SUPABASE_SECRET_KEY"
        raise LedgerError(
            f"SUPABASE_URL is set but {missing} is not: set SUPABASE_SECRET_KEY (or the legacy "
            "SUPABASE_SERVICE_ROLE_KEY) to record in Supabase, SUPABASE_PUBLISHABLE_KEY and "
            "SUPABASE_PLAN_TOKEN to plan read-only, or unset SUPABASE_URL to use the local SQLite ledger"
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
    if isinstance(backend, _ReadOnly) and backend.read_only:
        backend.close()
        raise LedgerError(
            "the Supabase ledger has only the read-only plan token (SUPABASE_PLAN_TOKEN): publishing, "
            "syncing and recording need SUPABASE_SECRET_KEY; nothing was sent"
        )
    if journal is False:
        return backend
    return JournaledLedger(backend, journal if isinstance(journal, Journal) else Journal())
