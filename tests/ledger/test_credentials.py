"""Users' provider keys: Fernet at rest, MultiFernet rotation, clear errors, never the key in sight."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner

from postdeck.chain_factory import build_chain, chain_links
from postdeck.cli import app, main
from postdeck.core.keys import DeliveryKey
from postdeck.core.platform import Platform
from postdeck.engine.publisher import publish_batch
from postdeck.errors import CredentialsError
from postdeck.ledger.credentials import CredentialStore, load_fernet
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.schemas.deliveries import Delivery
from tests.ledger_fixtures.postgrest import PostgrestEmulator

pytest_plugins = ["tests.pg"]

USER = "00000000-0000-4000-8000-0000000000a1"
OTHER = "00000000-0000-4000-8000-0000000000b2"
# Shaped unlike any real key, so only the store's own care (not a regex) can keep them out of sight.
TEST_KEYS = {"postforme": "TESTKEY-postforme-7d1e0c5b2a", "late": "TESTKEY-late-93f4b8e61c"}
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SERVICE_KEY = "test-service-role-key"


@dataclass
class Backend:
    ledger: object
    dump: object  # () -> list of (table, column, value) of every row of every table


@pytest.fixture(params=["sqlite", pytest.param("supabase", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        ledger = SqliteLedger(tmp_path / "ledger.db")
        yield Backend(ledger, lambda: sqlite_cells(ledger.path))
        return
    dsn = request.getfixturevalue("pg_dsn")
    client = httpx.Client(transport=httpx.MockTransport(PostgrestEmulator(dsn, service_key=SERVICE_KEY)))
    yield Backend(
        SupabaseLedger("http://supabase.test", SERVICE_KEY, http_client=client), lambda: pg_cells(dsn)
    )


def sqlite_cells(path: Path) -> list[tuple[str, str, object]]:
    conn = sqlite3.connect(path)
    cells = []
    for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
        cursor = conn.execute(f"select * from {table}")
        names = [d[0] for d in cursor.description]
        cells += [(table, name, value) for row in cursor for name, value in zip(names, row, strict=True)]
    conn.close()
    return cells


def pg_cells(dsn: str) -> list[tuple[str, str, object]]:
    import psycopg

    cells = []
    with psycopg.connect(dsn) as conn:
        tables = conn.execute("select tablename from pg_tables where schemaname = 'public'").fetchall()
        for (table,) in tables:
            cursor = conn.execute(f'select * from public."{table}"')
            names = [d.name for d in cursor.description]
            cells += [(table, name, value) for row in cursor for name, value in zip(names, row, strict=True)]
    return cells


def secret_hits(cells: list[tuple[str, str, object]], secrets: list[str]) -> list[tuple[str, str]]:
    """Which (table, column) hold any of the secrets, in any form a column can take."""
    return sorted({(t, c) for t, c, v in cells for s in secrets if v is not None and s in str(v)})


@pytest.fixture
def store(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> CredentialStore:
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    return CredentialStore(backend.ledger)


# --- the store on every backend -----------------------------------------------------------------


def test_keys_are_encrypted_at_rest_and_secret_in_memory(store: CredentialStore, backend: Backend) -> None:
    store.save(USER, "postforme", TEST_KEYS["postforme"], ["twitter", "linkedin", "twitter"])
    store.save(USER, "late", SecretStr(TEST_KEYS["late"]))
    stored = store.get(USER, "postforme")
    assert stored.api_key.get_secret_value() == TEST_KEYS["postforme"]
    assert stored.connected_platforms == ("linkedin", "twitter")
    assert TEST_KEYS["postforme"] not in repr(stored) and TEST_KEYS["postforme"] not in str(stored)
    assert store.providers_of(USER) == ["late", "postforme"] and store.get(OTHER, "late") is None
    token = next(v for t, c, v in backend.dump() if c == "encrypted_api_key")
    assert Fernet(NEW).decrypt(token.encode()).decode() in TEST_KEYS.values()
    assert store.delete(USER, "late") and not store.delete(USER, "late")
    assert store.providers_of(USER) == ["postforme"]


def test_rotation_re_encrypts_every_row_with_the_newest_key(backend: Backend, monkeypatch) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    CredentialStore(backend.ledger).save(USER, "postforme", TEST_KEYS["postforme"])
    CredentialStore(backend.ledger).save(OTHER, "late", TEST_KEYS["late"])
    monkeypatch.setenv("ENCRYPTION_KEY", f"{NEW},{OLD}")  # newest first: both decrypt
    assert (
        CredentialStore(backend.ledger).get(USER, "postforme").api_key.get_secret_value()
        == TEST_KEYS["postforme"]
    )
    assert CredentialStore(backend.ledger).rotate() == 2
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)  # the old key can go now
    assert CredentialStore(backend.ledger).get(OTHER, "late").api_key.get_secret_value() == TEST_KEYS["late"]
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    with pytest.raises(CredentialsError, match="ENCRYPTION_KEY is wrong"):
        CredentialStore(backend.ledger).get(OTHER, "late")


def test_a_rotation_stops_before_writing_anything_when_a_row_is_unreadable(
    backend: Backend, monkeypatch
) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    CredentialStore(backend.ledger).save(USER, "postforme", TEST_KEYS["postforme"])
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    CredentialStore(backend.ledger).save(USER, "late", TEST_KEYS["late"])
    before = sorted(str(v) for t, c, v in backend.dump() if c == "encrypted_api_key")
    with pytest.raises(CredentialsError, match=f"postforme key of user {USER} cannot be decrypted"):
        CredentialStore(backend.ledger).rotate()  # OLD is missing from ENCRYPTION_KEY
    assert sorted(str(v) for t, c, v in backend.dump() if c == "encrypted_api_key") == before


def test_refresh_stores_the_platforms_of_connected_accounts(store: CredentialStore) -> None:
    @dataclass
    class Account:
        platform: object
        connected: bool = True

    class Client:
        def __init__(self, *accounts: Account) -> None:
            self._accounts = accounts

        def accounts(self) -> list[Account]:
            return list(self._accounts)

    store.save(USER, "postforme", TEST_KEYS["postforme"], ["pinterest"])
    store.save(USER, "late", TEST_KEYS["late"])
    refreshed = store.refresh_connected_platforms(
        USER,
        {
            "postforme": Client(
                Account(Platform.TWITTER), Account("linkedin"), Account(Platform.TIKTOK, False)
            ),
            "late": Client(Account(Platform.BLUESKY), Account(Platform.BLUESKY)),
        },
    )
    assert refreshed == {"late": ("bluesky",), "postforme": ("linkedin", "twitter")}
    assert store.get(USER, "postforme").connected_platforms == ("linkedin", "twitter")
    with pytest.raises(CredentialsError, match=f"no provider keys are stored for user {OTHER}"):
        store.refresh_connected_platforms(OTHER, {})


def test_no_test_key_reaches_any_ledger_column(store: CredentialStore, backend: Backend) -> None:
    """Save, rotate, refresh, then publish through the real provider clients against a provider that
    echoes the key back in its errors: no column of any table holds a key in any form."""
    for provider, key in TEST_KEYS.items():
        store.save(USER, provider, key, ["twitter"])
    store.rotate()

    def echo(request: httpx.Request) -> httpx.Response:
        leak = request.headers.get("authorization", "") + " " + request.headers.get("authorization", "")[7:]
        return httpx.Response(401, json={"message": f"invalid key {leak}", "error": leak})

    links = chain_links(
        USER, store=store, environ={}, http_client=httpx.Client(transport=httpx.MockTransport(echo))
    )
    chain = build_chain(links, backend.ledger)
    deliveries = [
        Delivery(str(DeliveryKey("c", "a", p, owner=USER)), "c", "a", p, "hello", (), None, owner=USER)
        for p in (Platform.TWITTER, Platform.LINKEDIN)
    ]
    reports = publish_batch(
        deliveries, ledger=backend.ledger, chain=chain, owner="run", now=lambda: datetime.now(UTC)
    )
    assert {r.status for r in reports} == {"failed"} and all(r.error for r in reports)
    assert not any(key in (r.error or "") for r in reports for key in TEST_KEYS.values())
    cells = backend.dump()
    assert any(c == "error" and v for t, c, v in cells)  # the failures were recorded...
    assert secret_hits(cells, list(TEST_KEYS.values())) == []  # ...without the keys


def test_refresh_builds_each_client_with_the_injected_factory_and_the_stored_key(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    built: list[Client] = []

    @dataclass
    class Account:
        platform: object

    class Client:
        def __init__(self, api_key: str) -> None:
            self.api_key, self.closed = api_key, False
            built.append(self)

        def accounts(self) -> list[Account]:
            return [Account(Platform.BLUESKY)]

        def close(self) -> None:
            self.closed = True

    factories = {"late": Client}
    store = CredentialStore(SqliteLedger(tmp_path / "ledger.db"), client_factories=factories)
    store.save(USER, "late", TEST_KEYS["late"])
    assert store.refresh_connected_platforms(USER) == {"late": ("bluesky",)}
    assert [(c.api_key, c.closed) for c in built] == [(TEST_KEYS["late"], True)]  # built, then closed


def test_refresh_without_clients_or_factories_names_what_is_missing(sqlite_store: CredentialStore) -> None:
    sqlite_store.save(USER, "postforme", TEST_KEYS["postforme"])
    with pytest.raises(
        CredentialsError, match="no postforme client to ask: build the store with client_factories"
    ):
        sqlite_store.refresh_connected_platforms(USER)


def test_the_ledger_never_imports_the_providers() -> None:
    """The credential store gets its clients injected: ledger/ → providers/ would be a cycle."""
    ledger_dir = Path(__file__).resolve().parents[2] / "ledger"
    imports = ("from postdeck.providers", "import postdeck.providers")
    importing = [p.name for p in sorted(ledger_dir.glob("*.py")) if any(i in p.read_text() for i in imports)]
    assert importing == []


def test_a_supabase_user_id_must_be_a_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    never = httpx.Client(transport=httpx.MockTransport(lambda request: pytest.fail(f"sent {request.url}")))
    store = CredentialStore(SupabaseLedger("http://supabase.test", SERVICE_KEY, http_client=never))
    with pytest.raises(CredentialsError, match="'alice' is not a Supabase user id"):
        store.save("alice", "late", TEST_KEYS["late"])
    with pytest.raises(CredentialsError, match="'alice' is not a Supabase user id"):
        store.status("alice")


# --- errors name what to fix, never the key -----------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CredentialStore:
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    return CredentialStore(SqliteLedger(tmp_path / "ledger.db"))


def test_a_missing_encryption_key_says_how_to_make_one(sqlite_store, monkeypatch) -> None:
    monkeypatch.delenv("ENCRYPTION_KEY")
    with pytest.raises(CredentialsError, match="ENCRYPTION_KEY is not set: generate one with"):
        sqlite_store.save(USER, "late", TEST_KEYS["late"])


def test_a_malformed_encryption_key_is_named_by_position_not_shown() -> None:
    with pytest.raises(CredentialsError, match="ENCRYPTION_KEY entry 2 is not a valid Fernet key") as caught:
        load_fernet(f"{NEW}, not-a-key-but-a-secret")
    assert "not-a-key-but-a-secret" not in str(caught.value) and NEW not in str(caught.value)


def test_a_wrong_encryption_key_or_a_corrupted_row_is_a_clear_error(sqlite_store, monkeypatch) -> None:
    sqlite_store.save(USER, "late", TEST_KEYS["late"])
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    with pytest.raises(CredentialsError, match="ENCRYPTION_KEY is wrong") as wrong:
        sqlite_store.get(USER, "late")
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    with sqlite_store.rows._connect() as conn:
        conn.execute(
            "UPDATE user_social_credentials SET encrypted_api_key = 'gAAAAABcorrupted' || encrypted_api_key"
        )
    with pytest.raises(CredentialsError, match="save the key again") as corrupted:
        sqlite_store.get(USER, "late")
    for error in (wrong.value, corrupted.value):
        assert TEST_KEYS["late"] not in str(error) and NEW not in str(error) and OLD not in str(error)
        assert error.__cause__ is None and error.__suppress_context__  # no chained traceback to leak through


def test_an_unknown_user_is_told_how_to_add_a_key(sqlite_store) -> None:
    with pytest.raises(
        CredentialsError, match=f"no provider keys are stored for user {OTHER}: save one with"
    ):
        sqlite_store.status(OTHER)
    with pytest.raises(CredentialsError, match=f"postdeck credentials set --user {OTHER} --provider late"):
        sqlite_store.require(OTHER, "late")
    with pytest.raises(CredentialsError, match="unknown provider 'buffer'"):
        sqlite_store.get(USER, "buffer")


# --- the commands ---------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.setenv("POSTDECK_LEDGER", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    return tmp_path / "ledger.db"


def test_set_reads_the_key_from_stdin_or_an_env_var_and_show_never_prints_it(
    cli_env: Path, monkeypatch
) -> None:
    runner = CliRunner()
    saved = runner.invoke(
        app, ["credentials", "set", "--user", USER, "--provider", "late"], input=TEST_KEYS["late"] + "\n"
    )
    assert saved.exit_code == 0, saved.output
    monkeypatch.setenv("PFM_KEY", TEST_KEYS["postforme"])
    runner.invoke(
        app, ["credentials", "set", "--user", USER, "--provider", "postforme", "--from-env", "PFM_KEY"]
    )
    store = CredentialStore(SqliteLedger(cli_env))
    assert store.get(USER, "late").api_key.get_secret_value() == TEST_KEYS["late"]
    assert store.get(USER, "postforme").api_key.get_secret_value() == TEST_KEYS["postforme"]
    shown = runner.invoke(app, ["credentials", "show", "--user", USER])
    assert shown.exit_code == 0 and "late" in shown.output and "postforme" in shown.output
    assert not any(key in shown.output for key in TEST_KEYS.values())
    # There is no way to pass the key itself as an argument (it would land in the shell history).
    assert (
        runner.invoke(app, ["credentials", "set", "--user", USER, "--provider", "late", "k"]).exit_code != 0
    )


def test_set_asks_for_the_key_without_echo_on_a_terminal(cli_env: Path, monkeypatch) -> None:
    from postdeck.commands import credentials

    asked = {}

    def prompt(text: str, hide_input: bool = False) -> str:
        asked.update(text=text, hide_input=hide_input)
        return TEST_KEYS["late"]

    monkeypatch.setattr(credentials.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(credentials.typer, "prompt", prompt)
    credentials.set_key(user=USER, provider="late")
    assert asked == {"text": "API key", "hide_input": True}


def test_rotate_and_delete_commands(cli_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    CredentialStore(SqliteLedger(cli_env)).save(USER, "late", TEST_KEYS["late"])
    monkeypatch.setenv("ENCRYPTION_KEY", f"{NEW},{OLD}")
    runner = CliRunner()
    rotated = runner.invoke(app, ["credentials", "rotate"])
    assert rotated.exit_code == 0 and "re-encrypted 1 keys" in rotated.output
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    assert CredentialStore(SqliteLedger(cli_env)).get(USER, "late") is not None
    assert runner.invoke(app, ["credentials", "delete", "--user", USER, "--provider", "late"]).exit_code == 0
    missing = runner.invoke(app, ["credentials", "delete", "--user", USER, "--provider", "late"])
    assert isinstance(missing.exception, CredentialsError)


def test_the_cli_prints_one_red_line_not_a_traceback(cli_env: Path, monkeypatch, capsys) -> None:
    CredentialStore(SqliteLedger(cli_env)).save(USER, "late", TEST_KEYS["late"])
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)  # the wrong key
    monkeypatch.delenv("POSTDECK_DEBUG", raising=False)
    monkeypatch.setattr("sys.argv", ["postdeck", "credentials", "show", "--user", USER])
    with pytest.raises(SystemExit) as shown:
        main()  # show reports an unreadable key per provider, and exits 1: no stored key can be read
    assert shown.value.code == 1
    monkeypatch.setattr("sys.argv", ["postdeck", "credentials", "refresh", "--user", USER])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    assert exited.value.code == 1 and "Traceback" not in out.err
    assert "cannot be decrypted: ENCRYPTION_KEY is wrong" in out.err and "ENCRYPTION_KEY is wrong" in out.out
    assert not any(secret in out.out + out.err for secret in (*TEST_KEYS.values(), NEW, OLD))


def test_show_exits_1_while_any_stored_key_cannot_be_read(cli_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    CredentialStore(SqliteLedger(cli_env)).save(USER, "late", TEST_KEYS["late"])
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    CredentialStore(SqliteLedger(cli_env)).save(USER, "postforme", TEST_KEYS["postforme"])
    runner = CliRunner()
    shown = runner.invoke(app, ["credentials", "show", "--user", USER])  # the LATE key needs OLD
    assert shown.exit_code == 1 and "unreadable" in shown.output and "late:" in shown.output
    monkeypatch.setenv("ENCRYPTION_KEY", f"{NEW},{OLD}")
    readable = runner.invoke(app, ["credentials", "show", "--user", USER])
    assert readable.exit_code == 0 and "unreadable" not in readable.output
