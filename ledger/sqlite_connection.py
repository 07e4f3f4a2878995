"""The SQLite ledger's connections: one short connection per operation, its errors sorted by kind.

SQLite connections must not cross threads, and Prefect runs tasks in a thread pool, so every operation
opens its own. A transaction is BEGIN IMMEDIATE, so two writers serialise. sqlite3's errors become
LedgerUnavailable (the file cannot be reached: retry later) or LedgerRefused (the change is wrong).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerRefused, LedgerUnavailable


class SqliteConnection:
    """The base of SqliteLedger and its parts (caches, credential rows): `path` and its connections."""

    path: Path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerUnavailable(f"cannot open the ledger at {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        except sqlite3.IntegrityError as exc:
            raise LedgerRefused(f"ledger {self.path}: {exc}") from None
        except sqlite3.OperationalError as exc:  # cannot open, locked, read-only, disk I/O, missing table
            raise LedgerUnavailable(f"ledger {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.path}: {exc}") from None
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
