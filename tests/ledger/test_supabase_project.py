"""supabase/config.toml and seed.sql: what `supabase start && supabase db reset` builds the ledger from."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from postdeck.ledger.supabase_transport import PAGE
from tests.pg import as_role

pytest_plugins = ["tests.pg"]

SUPABASE = Path(__file__).resolve().parents[2] / "supabase"
DEMO_USER = "00000000-0000-4000-8000-00000000de30"
# Just the parts of Supabase's auth schema seed.sql writes to (the real one has more columns), and
# pgcrypto's two functions (the embedded server has no pgcrypto): what is checked is the seed's SQL
# and its rows in the migrated public tables.
AUTH_STAND_IN = """
create table auth.users (
    instance_id uuid, id uuid primary key, aud text, role text, email text, encrypted_password text,
    email_confirmed_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb,
    created_at timestamptz, updated_at timestamptz, confirmation_token text, email_change text,
    email_change_token_new text, recovery_token text
);
create table auth.identities (
    id uuid primary key, user_id uuid references auth.users, provider_id text, provider text,
    identity_data jsonb, last_sign_in_at timestamptz, created_at timestamptz, updated_at timestamptz,
    unique (provider_id, provider)
);
create schema extensions;
create function extensions.gen_salt(text) returns text language sql as $$ select '$2a$06$' || $1 $$;
create function extensions.crypt(text, text) returns text language sql as $$ select md5($1 || $2) $$;
"""


def config() -> dict:
    return tomllib.loads((SUPABASE / "config.toml").read_text())


def test_the_local_project_serves_what_the_ledger_expects() -> None:
    project = config()
    assert project["project_id"] == "postdeck"
    assert project["api"]["max_rows"] == PAGE  # the ledger pages its reads by the same count
    assert project["db"]["migrations"]["enabled"] and project["db"]["seed"]["sql_paths"] == ["./seed.sql"]
    ports = [project["api"]["port"], project["db"]["port"], project["studio"]["port"]]
    assert ports == [54321, 54322, 54323]


def test_only_real_accounts_get_a_session_the_row_level_security_trusts() -> None:
    auth = config()["auth"]
    assert auth["enabled"] and not auth["enable_anonymous_sign_ins"]  # anonymous users are `authenticated`
    assert not auth["enable_signup"] and not auth["email"]["enable_signup"]


@pytest.mark.postgres
def test_the_seed_applies_after_the_migrations_and_its_user_sees_only_their_row(pg_dsn: str) -> None:
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(AUTH_STAND_IN)
        conn.execute((SUPABASE / "seed.sql").read_text())
        conn.execute(
            (SUPABASE / "seed.sql").read_text().split("insert into public.")[0]
        )  # reset is rerunnable
        (email,) = conn.execute("select email from auth.users where id = %s", (DEMO_USER,)).fetchone()
        assert email == "demo@postdeck.local"
        with as_role(conn, "authenticated", DEMO_USER):
            rows = conn.execute("select content, status from social_posts").fetchall()
        assert rows == [("Hello from the postdeck demo user", "posted")]
        with as_role(conn, "authenticated", "00000000-0000-4000-8000-000000000001"):
            assert conn.execute("select count(*) from social_posts").fetchone() == (0,)


def test_the_example_workflow_plans_pull_requests_with_the_read_only_path_only() -> None:
    import yaml

    workflow = yaml.safe_load((SUPABASE.parent / "examples" / "github-workflow-campaigns.yml").read_text())
    job = workflow["jobs"]["validate-and-plan"]
    assert "pull_request" in job["if"]
    env = {name for step in job["steps"] for name in step.get("env", {})}
    assert {"SUPABASE_URL", "SUPABASE_PUBLISHABLE_KEY", "SUPABASE_PLAN_TOKEN"} <= env
    assert "SUPABASE_SECRET_KEY" not in str(job) and "SUPABASE_SERVICE_ROLE_KEY" not in str(job)
