"""One provider key's rate budget shared by every process on this machine: its RateBook kept in a
small SQLite file named by the key's digest (never the key), in POSTDECK_RATE_DIR (default rates/
beside the ledger). Two workers, or two CLI publishes, with one key then pace themselves together
instead of each to the key's full limit.

Each read-and-change is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the book
is read, so two processes never both see, and take, the last slot. Hits are wall-clock seconds
(time.time): a monotonic clock is not shared across processes. A folder that cannot be written
(read-only, missing, a file in its way) costs one logged warning and nothing else: the key is then
paced by this process alone, as it was before there was a shared budget.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from postdeck.providers.rate_book import MemoryRateStore, RateBook

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_at ON hits (at);
CREATE TABLE IF NOT EXISTS learned (seconds REAL PRIMARY KEY, "limit" INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pause (one INTEGER PRIMARY KEY CHECK (one = 1), until REAL NOT NULL);
"""

_warned: set[Path] = set()  # folders already warned about: one warning each, however many keys
_warned_lock = threading.Lock()

# Connections kept open per process (each holds three files in WAL mode). A service with many
# owners' keys, or a test session building clients by the thousand, would otherwise run out of
# file descriptors: past this many, the least recently used are closed, and reopened when used.
MAX_OPEN = 32
_open: OrderedDict[SqliteRateStore, None] = OrderedDict()
_open_lock = threading.Lock()


def _used(store: SqliteRateStore) -> None:
    """`store` (whose lock the caller holds) has an open connection: note it, close the oldest."""
    with _open_lock:
        _open[store] = None
        _open.move_to_end(store)
        victims = [_open.popitem(last=False)[0] for _ in range(len(_open) - MAX_OPEN)]
    for victim in victims:
        # Never wait for another store's lock while holding this one's (two stores, two orders).
        if victim is not store and victim._lock.acquire(blocking=False):
            try:
                victim._disconnect()
            finally:
                victim._lock.release()


class SqliteRateStore:
    """The book of one key in `path`, shared with every process that opens the same file."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, busy_timeout: float = 10.0
    ) -> None:
        self.path = path
        self.clock = clock
        self._busy_timeout = busy_timeout
        # One connection per store, used under this lock: threads queue here, not on SQLite's file lock.
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._fallback: MemoryRateStore | None = None
        self._last = RateBook()  # the book as last read or written: what a fallback starts from
        with self._lock:
            try:
                self._connection()  # now: a folder that cannot be used is warned about at once
            except (OSError, sqlite3.Error) as exc:
                self._give_up(exc, RateBook())

    @property
    def shared(self) -> bool:
        """False once the file could not be used (the book is then this process's own)."""
        return self._fallback is None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            # WAL with NORMAL: a commit without an fsync that a crash still cannot corrupt (a hit
            # lost to a power cut matters to nobody).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        self._db, self._pid = db, os.getpid()
        return db

    def _connection(self) -> sqlite3.Connection:
        # A forked child must not use its parent's connection (SQLite's rule): it opens its own.
        db = self._db if self._db is not None and self._pid == os.getpid() else self._connect()
        _used(self)
        return db

    def _disconnect(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            with suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    @contextmanager
    def transaction(self) -> Iterator[RateBook]:
        with self._lock:
            db = book = None
            if self._fallback is None:
                try:
                    db = self._connection()
                    book = self._read(db)
                except (OSError, sqlite3.Error) as exc:
                    self._give_up(exc, self._last)
            if db is None or book is None:
                assert self._fallback is not None
                with self._fallback.transaction() as kept:
                    yield kept
                return
            try:
                yield book
            except BaseException:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            try:
                self._write(db, book)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._give_up(exc, book)  # this change is kept in memory, with the rest of the book
            book.settled()
            self._last = book

    def _read(self, db: sqlite3.Connection) -> RateBook:
        db.execute("BEGIN IMMEDIATE")
        try:
            hits = [at for (at,) in db.execute("SELECT at FROM hits ORDER BY at")]
            learned = {float(s): int(n) for s, n in db.execute('SELECT seconds, "limit" FROM learned')}
            row = db.execute("SELECT until FROM pause").fetchone()
        except sqlite3.Error:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return RateBook(hits=hits, learned=learned, paused_until=row[0] if row else 0.0)

    @staticmethod
    def _write(db: sqlite3.Connection, book: RateBook) -> None:
        if book.forgotten_before is not None:
            db.execute("DELETE FROM hits WHERE at <= ?", (book.forgotten_before,))
        db.executemany("INSERT INTO hits (at) VALUES (?)", [(at,) for at in book.taken])
        db.executemany(  # one row each: two requests may have been held at the same moment
            "UPDATE hits SET at = ? WHERE rowid = (SELECT rowid FROM hits WHERE at = ? LIMIT 1)",
            [(to, held) for held, to in book.moved],
        )
        db.executemany(
            'INSERT INTO learned (seconds, "limit") VALUES (?, ?) '
            'ON CONFLICT (seconds) DO UPDATE SET "limit" = excluded."limit"',
            list(book.announced.items()),
        )
        if book.paused:
            db.execute(
                "INSERT INTO pause (one, until) VALUES (1, ?) "
                "ON CONFLICT (one) DO UPDATE SET until = max(until, excluded.until)",
                (book.paused_until,),
            )

    def _give_up(self, exc: BaseException, book: RateBook) -> None:
        """Go on with the book in memory (this process alone), never failing the call for it."""
        book.settled()
        self._fallback = MemoryRateStore(book, clock=self.clock)
        self._disconnect()
        folder = self.path.parent
        with _warned_lock:
            if folder in _warned:
                return
            _warned.add(folder)
        log.warning(
            "the rate budget folder %s cannot be used (%s): each process paces its provider keys by "
            "itself, so workers sharing a key may together exceed its rate limits",
            folder,
            exc,
        )

    def close(self) -> None:
        """Close the connection (a later transaction opens it again)."""
        with self._lock:
            self._disconnect()
        with _open_lock:
            _open.pop(self, None)
