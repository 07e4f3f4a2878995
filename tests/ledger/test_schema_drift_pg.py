"""Schema drift: every column and function the Supabase backend names exists, as named, in the migrated
database. A column renamed in a migration but not in the code (or the reverse) fails here, by name.

What the code sends comes from the recorded exchanges (tests/ledger_fixtures/recorded: the replay tests
make sure each is exactly what SupabaseLedger sends) and, for RPCs, from the code's own calls (AST of
ledger/supabase*.py); what it reads from the record types the rows become (ledger/rows.py).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from postdeck.ledger.records import CampaignRun, DeliveryRecord, PostRecord

pytest_plugins = ["tests.pg"]
psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "ledger_fixtures" / "recorded"
BACKEND = sorted((ROOT / "ledger").glob("supabase*.py"))
RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns"}
# Each row type and the table it is read from.
READS = {DeliveryRecord: "deliveries", PostRecord: "social_posts", CampaignRun: "campaign_runs"}


@pytest.fixture(scope="module")
def schema(pg_server) -> dict[str, set[str]]:
    with psycopg.connect(pg_server.create_database()) as conn:
        rows = conn.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'public'"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


@pytest.fixture(scope="module")
def functions(pg_server) -> dict[str, tuple[set[str], str]]:
    """Each public function: its parameter names and its source."""
    with psycopg.connect(pg_server.create_database()) as conn:
        rows = conn.execute(
            "select p.proname, p.proargnames, p.prosrc from pg_proc p"
            " join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
        ).fetchall()
    return {name: (set(args or []), source) for name, args, source in rows}


def recorded_requests() -> list[dict]:
    return [e["request"] for path in sorted(RECORDED.glob("*.json")) for e in json.loads(path.read_text())]


def columns_named(request: dict) -> set[str]:
    """The columns a table request filters, selects, orders, conflicts on or writes."""
    named = set()
    for name, value in request["query"]:
        if name not in RESERVED:
            named.add(name)
        elif name in ("select", "on_conflict", "columns") and value != "*":
            named.update(value.split(","))
        elif name == "order":
            named.update(term.split(".")[0] for term in value.split(","))
    body = request["body"]
    for row in body if isinstance(body, list) else [body] if isinstance(body, dict) else []:
        named.update(row)
    return named


def tables_in_code() -> set[str]:
    return {m for path in BACKEND for m in re.findall(r'_table\("([a-z_]+)"\)', path.read_text())}


def rpc_calls_in_code() -> dict[str, set[str]]:
    """`self._rpc("name", {literal dict})` calls of the backend: function name → parameter names."""
    calls: dict[str, set[str]] = {}
    for path in BACKEND:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "_rpc"
                and len(node.args) == 2
            ):
                name, params = node.args
                if isinstance(name, ast.Constant) and isinstance(params, ast.Dict):
                    calls[name.value] = {k.value for k in params.keys if isinstance(k, ast.Constant)}
    return calls


def test_every_column_the_backend_sends_is_in_the_migrated_tables(schema) -> None:
    missing = set()
    for request in recorded_requests():
        parts = request["path"].removeprefix("/rest/v1/").split("/")
        if parts[0] != "rpc":
            missing |= {f"{parts[0]}.{c}" for c in columns_named(request) - schema.get(parts[0], set())}
    assert not missing, f"columns the code uses that the migrations do not have: {sorted(missing)}"


def test_every_table_the_backend_uses_is_covered_and_migrated(schema) -> None:
    used = tables_in_code()
    recorded = {r["path"].removeprefix("/rest/v1/") for r in recorded_requests()}
    assert used <= set(schema), f"not migrated: {sorted(used - set(schema))}"
    assert used <= recorded, f"no recorded request checks {sorted(used - recorded)}: record the contract"


@pytest.mark.parametrize(("record", "table"), READS.items(), ids=lambda v: getattr(v, "__name__", v))
def test_every_field_a_row_is_read_into_is_a_column(schema, record, table: str) -> None:
    """ledger/rows.py leaves a field it does not find at its default: a renamed column would read as None.
    A field holding a record of its own (CampaignRun.source: RunSource) is read from that record's columns."""
    assert _column_names(record) - schema[table] == set()


def _column_names(record) -> set[str]:
    names = set()
    for f in fields(record):
        names |= _column_names(f.default) if is_dataclass(f.default) else {f.name}
    return names


def test_every_rpc_the_backend_calls_has_exactly_those_parameters(functions) -> None:
    calls = rpc_calls_in_code()
    for request in recorded_requests():
        parts = request["path"].removeprefix("/rest/v1/").split("/")
        if parts[0] == "rpc":
            assert set(request["body"]) == calls.get(parts[1], set(request["body"])), parts[1]
    assert {"claim_delivery", "record_delivery_outcomes", "reopen_failed_delivery"} <= set(calls)
    for name, params in calls.items():
        assert name in functions, f"no function public.{name} in the migrations"
        assert params == functions[name][0], (
            f"{name}: the code sends {sorted(params)}, it takes {sorted(functions[name][0])}"
        )


@pytest.mark.parametrize(
    ("function", "param"), [("claim_deliveries", "p_requests"), ("record_delivery_outcomes", "p_outcomes")]
)
def test_the_items_of_a_batch_rpc_are_the_keys_its_function_reads(
    functions, function: str, param: str
) -> None:
    sent = {
        key
        for request in recorded_requests()
        if request["path"].endswith(f"/rpc/{function}")
        for item in request["body"][param]
        for key in item
    }
    read = set(re.findall(r"->> '([a-z_]+)'", functions[function][1]))
    assert sent and sent == read, f"{function}: sent {sorted(sent)}, read {sorted(read)}"
