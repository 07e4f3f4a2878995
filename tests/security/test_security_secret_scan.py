"""The secret scan (tests/secret_scan.py) finds a test key wherever the suite could leak it.

The end-to-end check runs a small pytest session of its own in a separate process and folder (outside
this session's temporary folder, which this session's own scan reads): its leaks must fail it.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.secret_scan import TEST_SECRETS, ScanHandler, Scanner

CANARY = "canary-4c1d9e7b55"  # unknown to this session's own scan


def test_the_scanner_finds_a_key_in_logs_exceptions_and_database_files(tmp_path: Path) -> None:
    scanner = Scanner(secrets={CANARY})
    logger = logging.getLogger("postdeck.tests.secret-scan")
    logger.propagate = False
    handler = ScanHandler(scanner)
    logger.addHandler(handler)
    try:
        logger.warning("calling with %s", CANARY)
        try:
            raise RuntimeError(f"failed: {CANARY}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    database = tmp_path / "ledger.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (f"key={CANARY}",))
    found = scanner.findings() + scanner.scan_files(tmp_path)
    assert [f.where for f in found] == [
        "log postdeck.tests.secret-scan",
        "log postdeck.tests.secret-scan",
        "file",
    ]
    assert all(CANARY not in str(f) for f in found)  # the report masks the key it found


def test_environment_values_become_keys_but_public_sandbox_keys_do_not() -> None:
    scanner = Scanner(secrets=set())
    scanner.learn(["sandbox-late-key", "k", "fernet-one-aaaaaaaa,fernet-two-bbbbbbbb", None])
    assert scanner.secrets == {"fernet-one-aaaaaaaa", "fernet-two-bbbbbbbb"}


SESSION = """
import logging, sqlite3
import pytest
from postdeck.providers.errors import ProviderRejected
from tests.secret_scan import TEST_SECRETS

KEY = TEST_SECRETS[0]

def test_logs_it():
    logging.getLogger("postdeck.leaky").info("using key %s", KEY)

def test_raises_it():
    with pytest.raises(ProviderRejected):
        raise ProviderRejected("refused", provider="late", url="https://x.test/?k=" + KEY)

def test_stores_it(tmp_path):
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (KEY,))

def test_env_key_in_a_log(monkeypatch):
    monkeypatch.setenv("LATE_API_KEY", "dynamic-env-secret-77")
    logging.getLogger("postdeck.leaky").warning("header was %s", "dynamic-env-secret-77")

def test_clean():
    logging.getLogger("postdeck.leaky").info("nothing to see")
"""


def run_session(test_file: str) -> subprocess.CompletedProcess[str]:
    folder = Path(tempfile.mkdtemp(prefix="postdeck-secret-scan-"))
    try:
        (folder / "test_leaks.py").write_text(textwrap.dedent(test_file))
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "tests.secret_scan",
                "-p",
                "no:cacheprovider",
                "--basetemp",
                str(folder / "tmp"),
                str(folder / "test_leaks.py"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_session_that_leaks_a_key_fails_and_says_where() -> None:
    result = run_session(SESSION)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "5 passed" in out and "secret scan: test keys found" in out
    findings = [line for line in out.splitlines() if "…" in line and "[" in line]
    assert any(line.startswith("log postdeck.leaky [") and "test_logs_it" in line for line in findings), out
    assert any(
        line.startswith("exception ProviderRejected") and "test_raises_it" in line for line in findings
    )
    assert any(line.startswith("file [") and "test_stores_it" in line for line in findings), out
    assert any("test_env_key_in_a_log" in line and "dyn…77" in line for line in findings), out
    assert not any("test_clean" in line for line in findings)
    assert TEST_SECRETS[0] not in out  # masked in the report


@pytest.mark.slow
def test_a_clean_session_passes() -> None:
    result = run_session("def test_nothing():\n    assert True\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secret scan: no test key found" in result.stdout
