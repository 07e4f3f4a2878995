"""What the journal remembers after it is compacted: the last outcome of every delivery it recorded.

The journal's own file keeps only what waits for the ledger; once a replay settles it, the entry
would be gone, and with it the only record outside the database that a post went out. So compaction
moves each settled outcome here first (`<journal>.known.jsonl`, one line per ledger and key, the
latest outcome winning), with what the run claimed it as and where its create went. A ledger that
is new or was replaced (the file deleted, a database restored from an old backup) is found out by
comparing it with this (ledger.journal_guard), and rebuilt from it (ledger.rebuild).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postdeck.core.keys import scoped_key

log = logging.getLogger("postdeck.journal")

# What a settled line says happened to its entry: only these mean the ledger has (or had) it.
_STORED_RESULTS = frozenset({"applied", "already"})


@dataclass(frozen=True)
class Known:
    """One delivery as the journal last saw it recorded."""

    ledger: str  # the ledger's ident (sqlite:<path>, supabase:<url>)
    key: str
    outcome: dict[str, Any]  # an Outcome as the journal writes it (asdict, status a str)
    claim: dict[str, Any] | None = None  # the ClaimRequest it was claimed with, when this process saw it
    attempted: tuple[str, ...] = ()  # the provider links its create may have gone to
    at: str | None = None  # when it was recorded (ISO)

    def line(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "key": self.key,
            "outcome": self.outcome,
            "claim": self.claim,
            "attempted": list(self.attempted),
            "at": self.at,
        }

    @classmethod
    def of_entry(cls, entry: dict[str, Any]) -> Known:
        """A journal `record` entry (or a line of this file) as a Known."""
        return cls(
            ledger=entry["ledger"],
            key=entry["key"],
            outcome=entry["outcome"],
            claim=entry.get("claim"),
            attempted=tuple(entry.get("attempted") or ()),
            at=entry.get("at") or entry.get("now"),
        )

    def current(self) -> Known:
        """This sighting under the key its delivery has now: one recorded before delivery keys were
        scoped by owner names an owned delivery by campaign alone; its claim says whose it is."""
        user = (self.claim or {}).get("user_id")
        key = scoped_key(self.key, user)
        if key == self.key:
            return self
        claim = {**self.claim, "key": scoped_key(self.claim["key"], user)} if self.claim else None
        return Known(self.ledger, key, self.outcome, claim, self.attempted, self.at)

    def merged_over(self, older: Known) -> Known:
        """This (later) sighting, keeping what only the older one knew."""
        return Known(
            self.ledger,
            self.key,
            self.outcome,
            self.claim or older.claim,
            tuple(dict.fromkeys((*older.attempted, *self.attempted))),
            self.at,
        )


class JournalMemory:
    """The file of Known lines beside a journal. Written only under the journal's lock."""

    def __init__(self, journal_path: Path) -> None:
        self.path = journal_path.with_name(journal_path.stem + ".known.jsonl")

    def read(self) -> dict[tuple[str, str], Known]:
        known: dict[tuple[str, str], Known] = {}
        if not self.path.exists():
            return known
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                item = Known.of_entry(json.loads(line))
            except (ValueError, KeyError, TypeError):
                log.warning("%s:%d is not a complete line; skipped", self.path, number)
                continue
            known[(item.ledger, item.key)] = item
        return known

    def remember(self, sightings: Iterable[Known]) -> None:
        """Merge sightings (oldest first) into the file, rewritten whole and replaced atomically."""
        known = self.read()
        before = dict(known)
        for item in sightings:
            older = known.get((item.ledger, item.key))
            known[(item.ledger, item.key)] = item.merged_over(older) if older else item
        if known == before:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w") as handle:
            handle.writelines(json.dumps(k.line()) + "\n" for k in known.values())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def settled_sightings(lines: Iterable[dict[str, Any]]) -> list[Known]:
    """The `record` entries among a journal's lines that a replay or the run itself settled as stored."""
    entries: dict[str, dict[str, Any]] = {}
    stored: set[str] = set()
    for item in lines:
        if "settled" in item:
            if item.get("result") in _STORED_RESULTS:
                stored.add(item["settled"])
        elif item.get("op") == "record" and "ledger" in item:
            entries[item["id"]] = item
    return [Known.of_entry(e) for entry_id, e in entries.items() if entry_id in stored]


def recorded_sightings(lines: Iterable[dict[str, Any]]) -> list[Known]:
    """Every `record` entry among a journal's lines, settled or still waiting, oldest first."""
    return [Known.of_entry(item) for item in lines if item.get("op") == "record" and "ledger" in item]
