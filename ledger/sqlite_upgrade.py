"""Bring a ledger file made by an older postdeck up to the current schema, in place.

CREATE TABLE IF NOT EXISTS leaves an old table as it was: a column added since is added with ALTER
TABLE (its default fills the old rows: a campaign run from before kinds is a `publish`, one from
before heartbeats has none), and, as SQLite cannot alter a CHECK constraint, a deliveries table whose
status check predates `not-sent` is rebuilt (SQLite's documented procedure: new table, copy, drop,
rename) in one transaction, its rows unchanged.

Keys of owned campaigns (issue 18): a file written before delivery keys were scoped by owner holds
`campaign/…` for a delivery with a user; it becomes `<user id>:campaign/…`, the key the campaign
renders now (as supabase/migrations/20261207170000_delivery_keys_scoped_by_owner.sql does).
"""

from __future__ import annotations

import logging
import re
import sqlite3

from postdeck.core.keys import scoped_key
from postdeck.core.status import DeliveryStatus

log = logging.getLogger("postdeck.ledger")

_STATUS_CHECK = re.compile(r"CHECK\s*\(\s*status\s+IN\s*\(([^)]*)\)\s*\)", re.I)
# Columns added after a table first shipped: CREATE TABLE IF NOT EXISTS does not add them to old files.
ADDED_COLUMNS = (
    ("media_uploads", "user_id", "TEXT"),
    ("deliveries", "run_id", "TEXT"),
    ("deliveries", "commit_sha", "TEXT"),
    ("deliveries", "keep_cancelled", "INTEGER NOT NULL DEFAULT 0"),
    ("campaign_runs", "commit_sha", "TEXT"),
    ("campaign_runs", "dirty", "INTEGER NOT NULL DEFAULT 0"),
    ("campaign_runs", "campaign_path", "TEXT"),
    ("campaign_runs", "content_hash", "TEXT"),
    ("campaign_runs", "plan_hash", "TEXT"),
    (
        "campaign_runs",
        "kind",
        "TEXT NOT NULL DEFAULT 'publish' CHECK (kind IN ('publish','post','retry','cancel'))",
    ),
    ("campaign_runs", "heartbeat_at", "TEXT"),
)


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """ALTER TABLE ... ADD COLUMN for each column of ADDED_COLUMNS an older file lacks."""
    for table, column, kind in ADDED_COLUMNS:
        present = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def widen_status_check(conn: sqlite3.Connection) -> bool:
    """Rebuild `deliveries` if its status check refuses a status of DeliveryStatus; True if it did.
    Runs inside its own BEGIN IMMEDIATE (two processes opening an old file upgrade it once)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        rebuilt = _rebuild_if_narrow(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return rebuilt


def _rebuild_if_narrow(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
    ).fetchone()
    if row is None:
        return False
    sql = row[0]
    match = _STATUS_CHECK.search(sql)
    if match is None:
        return False
    allowed = {v.strip().strip("'\"") for v in match.group(1).split(",")}
    if {str(s) for s in DeliveryStatus} <= allowed:
        return False
    values = ",".join(f"'{s}'" for s in DeliveryStatus)
    widened = sql[: match.start()] + f"CHECK (status IN ({values}))" + sql[match.end() :]
    widened = re.sub(
        r"^CREATE TABLE\s+(IF NOT EXISTS\s+)?\"?deliveries\"?", "CREATE TABLE deliveries_new", widened
    )
    columns = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(deliveries)"))
    conn.execute(widened)
    conn.execute(f"INSERT INTO deliveries_new ({columns}) SELECT {columns} FROM deliveries")
    conn.execute("DROP TABLE deliveries")
    conn.execute("ALTER TABLE deliveries_new RENAME TO deliveries")
    return True  # the caller's schema script creates the indexes again


# A key with a scope: a `:` before its first `/` (campaign names never hold one).
_SCOPED = "instr(key, ':') > 0 AND (instr(key, '/') = 0 OR instr(key, ':') < instr(key, '/'))"
_UNSCOPED_OWNED = f"SELECT key, user_id FROM deliveries WHERE COALESCE(user_id, '') <> '' AND NOT ({_SCOPED})"


def scope_owned_keys(conn: sqlite3.Connection) -> int:
    """Give each delivery of a user that an older file keys by campaign alone its user's scope, in one
    BEGIN IMMEDIATE; returns how many. Its other columns (post key, outcome, attempts) stay: the post
    key is what its provider post carries. A row whose scoped key exists already, or whose key or user
    no scoped key can hold, is left as it was (and said so)."""
    if conn.execute(_UNSCOPED_OWNED + " LIMIT 1").fetchone() is None:
        return 0  # the usual case: nothing to do, and no write lock taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        moved = 0
        for key, user_id in conn.execute(_UNSCOPED_OWNED).fetchall():
            scoped = scoped_key(key, user_id)
            if scoped == key:
                log.warning(
                    "ledger: delivery %s of user %r keeps its key: no scoped key can hold it", key, user_id
                )
                continue
            if conn.execute("SELECT 1 FROM deliveries WHERE key = ?", (scoped,)).fetchone():
                log.warning("ledger: delivery %s keeps its key: %s exists already", key, scoped)
                continue
            conn.execute("UPDATE deliveries SET key = ? WHERE key = ?", (scoped, key))
            moved += 1
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    if moved:
        log.info("ledger: %d deliveries of owned campaigns are keyed by their owner now", moved)
    return moved
