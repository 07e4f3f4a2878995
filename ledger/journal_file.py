"""The journal's file: append-only JSON lines, each write under an exclusive lock, outcomes fsync'ed.

An entry is one JSON object with an `id`; a later `{"settled": id, "result": ...}` line marks it done.
A torn last line (a crash mid-write) is skipped on reading and never glued to the next entry.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postdeck.ledger.journal_memory import JournalMemory, Known, recorded_sightings, settled_sightings
from postdeck.ledger.rows import iso
from postdeck.settings import settings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("postdeck.journal")

DEFAULT_JOURNAL = Path(".postdeck/journal.jsonl")


def default_journal_path() -> Path:
    return Path(settings().journal)  # DEFAULT_JOURNAL when unset


class Journal:
    """The append-only file. Every write holds an exclusive lock (threads and processes)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_journal_path()

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A separate lock file: compaction replaces the journal, and a lock must outlive that.
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, entry: dict[str, Any]) -> str:
        """Write one entry durably (fsync) and return its id."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[dict[str, Any]]) -> list[str]:
        """Write entries durably with one fsync (a batch's outcomes) and return their ids, in order."""
        at = iso(datetime.now(UTC))
        stamped = [{"id": uuid.uuid4().hex, "at": at, **entry} for entry in entries]
        with self.locked():
            self._write(stamped, durable=True)
        return [entry["id"] for entry in stamped]

    def settle(self, entry_id: str, result: str, *, locked: bool = False) -> None:
        """Mark an entry done. Not fsync'ed: losing this line only means an idempotent replay."""
        self.settle_many([(entry_id, result)], locked=locked)

    def settle_many(self, settled: Sequence[tuple[str, str]], *, locked: bool = False) -> None:
        """Mark entries done, as (entry id, result) pairs, in one write (not fsync'ed either)."""
        lines = [{"settled": entry_id, "result": result} for entry_id, result in settled]
        if locked:
            self._write(lines, durable=False)
            return
        with self.locked():
            self._write(lines, durable=False)

    @property
    def memory(self) -> JournalMemory:
        """What compaction keeps of settled outcomes (ledger.journal_memory)."""
        return JournalMemory(self.path)

    def lines(self) -> list[dict[str, Any]]:
        """Every complete line of the file, oldest first."""
        if not self.path.exists():
            return []
        items = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                items.append(json.loads(line))
            except ValueError:
                # A torn last line: the process died while writing it, before any ledger write.
                log.warning("%s:%d is not a complete entry; skipped", self.path, number)
        return items

    def pending(self) -> list[dict[str, Any]]:
        """Entries not settled yet, oldest first."""
        return _pending(self.lines())

    def known(self, ledger: str) -> dict[str, Known]:
        """Every delivery of the ledger `ledger` (its ident) this journal saw recorded, by key: what
        compaction remembered, updated by what the file holds now (settled or waiting)."""
        known: dict[str, Known] = {}
        sightings = [k for (ident, _), k in self.memory.read().items() if ident == ledger]
        for item in [*sightings, *(i for i in recorded_sightings(self.lines()) if i.ledger == ledger)]:
            item = item.current()  # under the key its delivery has now (keys scoped by owner)
            older = known.get(item.key)
            known[item.key] = item.merged_over(older) if older else item
        return known

    def compact(self) -> None:
        """Rewrite the file with only the pending entries (call while holding the lock); the settled
        outcomes go to the memory first, so the journal never forgets that a post went out."""
        lines = self.lines()
        self.memory.remember(settled_sightings(lines))
        pending = _pending(lines)
        if not pending:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w") as handle:
            handle.writelines(json.dumps(e) + "\n" for e in pending)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def _write(self, items: Sequence[dict[str, Any]], *, durable: bool) -> None:
        if not items:
            return
        created = not self.path.exists()
        line = "".join(json.dumps(item, default=_jsonable) + "\n" for item in items).encode()
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a torn line from a crash: never glue a new entry to it
                    line = b"\n" + line
            handle.write(line)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if created and durable:
            _fsync_dir(self.path.parent)


def _pending(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    settled = {item["settled"] for item in lines if "settled" in item}
    entries = {item["id"]: item for item in lines if "settled" not in item}
    return [e for entry_id, e in entries.items() if entry_id not in settled]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot go into the journal")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
