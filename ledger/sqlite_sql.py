"""SQL fragments the SQLite ledger builds: WHERE conditions from queries, SET lists for UPDATEs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.rows import commit_prefix, iso


def delivery_filters(query: DeliveryQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("key", query.keys), ("status", query.statuses)):
        if values is not None:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})" if values else "0")
            args.extend(values)
    equal = (
        ("platform", query.platform),
        ("campaign", query.campaign),
        ("user_id", query.user_id),
        ("provider_post_id", query.provider_post_id),
    )
    more, more_args = conditions(equal, since=query.created_since, before=query.created_before)
    if query.commit is not None:
        more.append("commit_sha LIKE ?")
        more_args.append(commit_prefix(query.commit) + "%")  # hex digits only: no LIKE wildcard in it
    return where + more, args + more_args


def conditions(
    equal: Iterable[tuple[str, Any]], *, since: datetime | None = None, before: datetime | None = None
) -> tuple[list[str], list[Any]]:
    """WHERE conditions and their arguments: `column = ?` for each given value, then created_at from
    `since` (inclusive) and before `before`."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    for condition, moment in (("created_at >= ?", since), ("created_at < ?", before)):
        if moment is not None:
            where.append(condition)
            args.append(iso(moment))
    return where, args


def assignments(values: dict[str, Any]) -> str:
    """`a = ?, b = ?` for an UPDATE. The names are LedgerBackend's and the SQLite ledger's, never a caller's."""
    return ", ".join(f"{column} = ?" for column in values)
