"""The ledger: every delivery, its outcome, the post history and users' encrypted provider keys.

ledger = open_ledger()        # Supabase if SUPABASE_URL + SUPABASE_SECRET_KEY, else SQLite; journaled
flush_journal(ledger)         # at the start of a run: write outcomes an earlier outage kept locally
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What the checker sees: the functions themselves, with their signatures (open_ledger's overloads:
    # journaled or not). At run time, the light stand-ins below import them when first called.
    from postdeck.ledger.factory import open_ledger
    from postdeck.ledger.journal import flush_journal
else:

    def open_ledger(*args: Any, **kwargs: Any) -> Any:
        """postdeck.ledger.factory.open_ledger (which see)."""
        from postdeck.ledger.factory import open_ledger as _open  # keeps `import postdeck.ledger.base` light

        return _open(*args, **kwargs)

    def flush_journal(ledger: Any, journal: Any = None) -> int:
        from postdeck.ledger.journal import flush_journal as _flush

        return _flush(ledger, journal)


__all__ = ["flush_journal", "open_ledger"]
