"""Bring a ledger file made by an older postdeck up to the current schema, in place.

CREATE TABLE IF NOT EXISTS leaves an old table as it was: a column added since is added with ALTER
TABLE (its default fills the old rows: a campaign run from before kinds is a `publish`, one from
before heartbeats has none), and, as SQLite cannot alter a CHECK constraint, a deliveries table whose
status check predates `not-sent` is rebuilt (SQLite's documented procedure: new table, copy, drop,
rename) in one transaction, its rows unchanged.
"""

from __future__ import annotations

import re
import sqlite3

from postdeck.core.status import DeliveryStatus

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
