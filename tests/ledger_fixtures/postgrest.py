"""PostgREST for tests: a tiny handler serving the embedded PostgreSQL.

`PostgrestEmulator` answers the subset of PostgREST's HTTP API that ledger/supabase.py uses (table
select/insert/upsert/update/delete with eq/gte/cs/in/is filters, order, limit/offset; POST /rpc/<function>)
the way PostgREST behind Supabase's gateway does it: one transaction per request, `SET LOCAL ROLE` and
`request.jwt.claims` from the key or the bearer token (see the class), rows as PostgreSQL's own JSON,
PostgreSQL errors as PostgREST error bodies.
Anything else is answered 501, so a backend that starts using more of the API fails loudly here.

Recording and replaying its exchanges: tests/ledger_fixtures/recording.py (Recorder, Replayer, also
importable from here).
"""

from __future__ import annotations

import base64
import csv
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from postdeck.ledger.supabase_keys import jwt_claims, jwt_signature
from tests.ledger_fixtures.keys import JWT_SECRET, PROJECT_KEYS
from tests.ledger_fixtures.recording import Handler, Recorder, Replayer

__all__ = ["Handler", "PostgrestEmulator", "Recorder", "Replayer"]

RESERVED_PARAMS = {"select", "order", "limit", "offset", "on_conflict", "columns"}
OPERATORS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "cs": "@>",
    "cd": "<@",
    "like": "like",
}
STATUS_BY_SQLSTATE = {"23505": 409, "23503": 409, "42883": 404, "42P01": 404, "42501": 403}


class Unsupported(Exception):
    pass


class PostgrestEmulator:
    """Serves /rest/v1 from a PostgreSQL database; `down = True` makes every request fail to connect.

    In front of it, Supabase's API gateway as its documentation and supabase-py #1228/#1230 show it:
    `apikey` must be one of the project's keys (else 401 "Invalid API key"); without an Authorization
    header the request runs as that key's role (a secret key: service_role; publishable: anon); with
    one, it must be a JWT signed with the project's secret (else 401 PGRST301, as PostgREST answers an
    opaque `sb_…` key sent as a bearer token), and the request runs as its `role` claim (legacy JWT keys
    travel so). `service_key`: an older test's opaque key, taken as service_role in both headers."""

    def __init__(
        self,
        dsn: str,
        *,
        service_key: str | None = None,
        keys: dict[str, str] | None = None,
        jwt_secret: str = JWT_SECRET,
    ) -> None:
        self.dsn = dsn
        self.keys = dict(PROJECT_KEYS if keys is None else keys)
        self._opaque = {service_key} if service_key and jwt_claims(service_key) is None else set()
        if service_key:
            self.keys[service_key] = "service_role"
        self.jwt_secret = jwt_secret
        self.down = False
        self._columns: dict[str, dict[str, str]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused (the test stopped the database)", request=request)
        claims = self._claims(request)
        if isinstance(claims, httpx.Response):
            return claims
        parts = request.url.path.removeprefix("/rest/v1/").split("/")
        try:
            if parts[0] == "rpc" and len(parts) == 2 and request.method == "POST":
                return self._transaction(claims, lambda conn: self._rpc(conn, parts[1], request))
            if len(parts) == 1:
                return self._transaction(claims, lambda conn: self._table(conn, parts[0], request))
            raise Unsupported(request.url.path)
        except Unsupported as exc:
            return _json(
                501, {"code": "PGRST501", "message": f"not emulated: {exc}", "details": None, "hint": None}
            )

    # --- the gateway ----------------------------------------------------------------------------

    def _claims(self, request: httpx.Request) -> dict[str, Any] | httpx.Response:
        role = self.keys.get(request.headers.get("apikey", ""))
        if role is None:
            return _json(
                401,
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        authorization = request.headers.get("authorization")
        if authorization is None:
            return {"role": role}
        token = authorization.removeprefix("Bearer ")
        if token in self._opaque:
            return {"role": self.keys[token]}
        parts = token.split(".")
        if len(parts) != 3:
            return _jwt_error(f"Expected 3 parts in JWT; got {len(parts)}")
        expected = jwt_signature(self.jwt_secret, f"{parts[0]}.{parts[1]}".encode())
        given = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        if not hmac.compare_digest(expected, given):
            return _jwt_error("JWSError JWSInvalidSignature")
        claims = jwt_claims(token) or {}
        if claims.get("exp", float("inf")) < time.time():
            return _jwt_error("JWT expired", code="PGRST303")
        return claims

    # --- requests -------------------------------------------------------------------------------

    def _transaction(self, claims: dict[str, Any], work: Callable[[Any], httpx.Response]) -> httpx.Response:
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            try:
                with conn.transaction():
                    conn.execute("set local timezone = 'UTC'")
                    conn.execute(f'set local role "{claims.get("role", "anon")}"')
                    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
                    return work(conn)
            except psycopg.Error as exc:
                return _error(exc, claims)

    def _table(self, conn, table: str, request: httpx.Request) -> httpx.Response:
        from psycopg import sql

        columns = self._table_columns(conn, table)
        params = request.url.params
        where, args = self._filters(params, columns)
        prefer = {p.strip() for p in request.headers.get("prefer", "").split(",") if p.strip()}
        target = sql.Identifier("public", table)
        if request.method == "GET":
            selected = self._select_list(params.get("select", "*"), columns)
            query = sql.SQL("select {} from {} as _t{}{}{}").format(
                selected, target, where, self._order(params.get("order"), columns), self._page(params)
            )
            return _rows(200, conn, query, args, dml=False)
        body = json.loads(request.content or b"null")
        if request.method == "POST":
            rows = body if isinstance(body, list) else [body]
            names = [c for c in dict.fromkeys(k for r in rows for k in r) if self._known(c, columns)]
            query = sql.SQL(
                "insert into {} as _t ({}) select {} from json_populate_recordset(null::{}, %s::json){}"
            ).format(
                target,
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(map(sql.Identifier, names)),
                target,
                self._on_conflict(conn, table, params.get("on_conflict"), names, prefer),
            )
            return _rows(201, conn, query, [json.dumps(rows)], returning="return=representation" in prefer)
        if request.method == "PATCH":
            names = [c for c in body if self._known(c, columns)]
            query = sql.SQL(
                "update {} as _t set {} from json_populate_record(null::{}, %s::json) as _r{}"
            ).format(
                target,
                sql.SQL(", ").join(
                    sql.SQL("{} = _r.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in names
                ),
                target,
                where,
            )
            return _rows(
                200, conn, query, [json.dumps(body), *args], returning="return=representation" in prefer
            )
        if request.method == "DELETE":
            query = sql.SQL("delete from {} as _t{}").format(target, where)
            return _rows(200, conn, query, args, returning="return=representation" in prefer)
        raise Unsupported(f"{request.method} on a table")

    def _rpc(self, conn, function: str, request: httpx.Request) -> httpx.Response:
        from psycopg import sql

        body = json.loads(request.content or b"{}")
        found = conn.execute(
            "select p.proargnames, array(select format_type(t, null) from unnest(p.proargtypes) t), p.proretset"
            " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'public' and p.proname = %s",
            (function,),
        ).fetchall()
        match = [f for f in found if set(f[0] or []) == set(body)]
        if not match:
            return _json(
                404,
                {
                    "code": "PGRST202",
                    "message": f"Could not find the function public.{function}",
                    "details": None,
                    "hint": None,
                },
            )
        names, types, returns_set = match[0]
        if returns_set:
            raise Unsupported("set-returning functions")
        query = sql.SQL("select to_json({}({})) from json_to_record(%s::json) as _a({})").format(
            sql.Identifier("public", function),
            sql.SQL(", ").join(
                sql.SQL("{} => _a.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in names
            ),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t))
                for n, t in zip(names, types, strict=True)
            ),
        )
        (value,) = conn.execute(query, (json.dumps(body),)).fetchone()
        return _json(200, value)

    # --- SQL pieces -----------------------------------------------------------------------------

    def _table_columns(self, conn, table: str) -> dict[str, str]:
        if table not in self._columns:
            rows = conn.execute(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute"
                " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped",
                (f"public.{table}",),
            ).fetchall()
            if not rows:
                raise Unsupported(f"table {table}")
            self._columns[table] = dict(rows)
        return self._columns[table]

    @staticmethod
    def _known(column: str, columns: dict[str, str]) -> bool:
        if column not in columns:
            raise Unsupported(f"column {column}")
        return True

    def _filters(self, params: httpx.QueryParams, columns: dict[str, str]):
        from psycopg import sql

        clauses, args = [], []
        for name, value in params.multi_items():
            if name in RESERVED_PARAMS:
                continue
            self._known(name, columns)
            op, _, operand = value.partition(".")
            column = sql.SQL("_t.{}").format(sql.Identifier(name))
            if op == "is" and operand == "null":
                clauses.append(sql.SQL("{} is null").format(column))
            elif op == "in" and operand.startswith("(") and operand.endswith(")"):
                # in.(a,"b,c"): a list, double quotes around values holding PostgREST's reserved characters
                values = next(csv.reader([operand[1:-1]], quotechar='"', escapechar="\\"), [])
                clauses.append(sql.SQL("{} = any(%s::{}[])").format(column, sql.SQL(columns[name])))
                args.append(values)
            elif op in OPERATORS:
                operand = operand.replace("*", "%") if op == "like" else operand  # PostgREST's wildcard alias
                clauses.append(
                    sql.SQL("{} {} %s::{}").format(column, sql.SQL(OPERATORS[op]), sql.SQL(columns[name]))
                )
                args.append(operand)
            else:
                raise Unsupported(f"filter {op}")
        if not clauses:
            return sql.SQL(""), args
        return sql.SQL(" where ") + sql.SQL(" and ").join(clauses), args

    def _select_list(self, select: str, columns: dict[str, str]):
        from psycopg import sql

        if select == "*":
            return sql.SQL("_t.*")
        names = [c for c in select.split(",") if self._known(c, columns)]
        return sql.SQL(", ").join(sql.SQL("_t.{}").format(sql.Identifier(c)) for c in names)

    def _order(self, order: str | None, columns: dict[str, str]):
        from psycopg import sql

        if not order:
            return sql.SQL("")
        terms = []
        for term in order.split(","):
            name, *modifiers = term.split(".")
            self._known(name, columns)
            words = {"asc": "asc", "desc": "desc", "nullsfirst": "nulls first", "nullslast": "nulls last"}
            terms.append(
                sql.SQL(" ").join(
                    [sql.SQL("_t.{}").format(sql.Identifier(name)), *(sql.SQL(words[m]) for m in modifiers)]
                )
            )
        return sql.SQL(" order by ") + sql.SQL(", ").join(terms)

    @staticmethod
    def _page(params: httpx.QueryParams):
        from psycopg import sql

        page = sql.SQL("")
        if "limit" in params:
            page += sql.SQL(" limit {}").format(sql.Literal(int(params["limit"])))
        if "offset" in params:
            page += sql.SQL(" offset {}").format(sql.Literal(int(params["offset"])))
        return page

    @staticmethod
    def _on_conflict(conn, table: str, on_conflict: str | None, names: list[str], prefer: set[str]):
        from psycopg import sql

        if "resolution=merge-duplicates" not in prefer and "resolution=ignore-duplicates" not in prefer:
            return sql.SQL("")
        if on_conflict:
            target = on_conflict.split(",")
        else:  # PostgREST's default conflict target is the primary key
            target = [
                r[0]
                for r in conn.execute(
                    "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid"
                    " and a.attnum = any(i.indkey) where i.indrelid = to_regclass(%s) and i.indisprimary",
                    (f"public.{table}",),
                )
            ]
        conflict = sql.SQL(" on conflict ({})").format(sql.SQL(", ").join(map(sql.Identifier, target)))
        if "resolution=ignore-duplicates" in prefer:
            return conflict + sql.SQL(" do nothing")
        updates = [c for c in names if c not in target]
        return conflict + sql.SQL(" do update set {}").format(
            sql.SQL(", ").join(
                sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in updates
            )
        )


def _rows(
    status: int, conn, query, args: list, *, dml: bool = True, returning: bool = True
) -> httpx.Response:
    """Rows as PostgREST renders them: PostgreSQL's own json_agg of the (returned) rows."""
    from psycopg import sql

    if dml:
        # `_t.*`, not `*`: an UPDATE ... FROM would also return the FROM item's columns, as PostgREST does not.
        wrapped = sql.SQL("with _w as ({} returning _t.*) select coalesce(json_agg(_w), '[]'::json) from _w")
    else:
        wrapped = sql.SQL("select coalesce(json_agg(_w), '[]'::json) from ({}) as _w")
    (rows,) = conn.execute(wrapped.format(query), args).fetchone()
    if not returning:
        return httpx.Response(201 if status == 201 else 204)
    return _json(status, rows)


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )


def _jwt_error(message: str, *, code: str = "PGRST301") -> httpx.Response:
    return _json(401, {"code": code, "details": None, "hint": None, "message": message})


def _error(exc: Any, claims: dict[str, Any]) -> httpx.Response:
    state = exc.sqlstate or "XX000"
    status = STATUS_BY_SQLSTATE.get(state, 500 if state.startswith(("XX", "53", "08")) else 400)
    if state == "42501" and claims.get("role") == "anon":
        status = 401
    diag = exc.diag
    return _json(
        status,
        {
            "code": state,
            "details": diag.message_detail,
            "hint": diag.message_hint,
            "message": diag.message_primary,
        },
    )
