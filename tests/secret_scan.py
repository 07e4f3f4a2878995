"""A pytest plugin: the whole suite's logs, Prefect artifacts, exception texts and ledger files are searched
for the keys tests treat as secret; the session fails if one is found anywhere.

Enabled from tests/conftest.py with `pytest_plugins = ["tests.secret_scan"]`.

What is searched:
- logs: one handler on the root logger and on every logger that does not propagate (Prefect's, uvicorn's),
  attached at session start and again before each test (Prefect's logging setup replaces handlers). The
  `postdeck` logger is set to INFO so the application's own INFO lines are searched too;
- Prefect artifacts: what every `create_artifact` call sends (key, description, data);
- exception texts: every PostdeckError as it is created (message and attributes), every failed test's
  report, and tracebacks inside log records;
- files tests produce: everything under pytest's base temporary folder (SQLite ledgers with their WAL,
  journals, simulator state, plans), read as bytes at the end of the session.

The keys: TEST_SECRETS below (distinctive values the tests use as credentials), plus any value the
secret environment variables (SECRET_ENV) hold while a test runs. The sandbox keys are public constants, not secrets.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ledger_fixtures import keys

# Distinctive values tests use as secrets (grep the tests for them): keys saved with `credentials set`,
# wrong keys sent to the simulators, keys put in the environment, webhook secrets, the Supabase key.
TEST_SECRETS: tuple[str, ...] = (
    "TESTKEY-postforme-7d1e0c5b2a",  # test_credentials.TEST_KEYS
    "TESTKEY-late-93f4b8e61c",
    "wrong-key-supersecret-0123456789",  # test_postforme_client
    "zz-wrong-key-4f9a1c",  # test_late_client
    "from-env-key",  # test_late_client: LATE_API_KEY
    "revoked-key",  # test_service_providers: POSTFORME_API_KEY
    "not-a-key-but-a-secret",  # test_credentials: a bad ENCRYPTION_KEY entry
    "test-service-role-key",  # SUPABASE_SERVICE_ROLE_KEY of the ledger tests
    keys.SECRET_KEY,  # tests/ledger_fixtures/keys.py: the test project's secret keys (not the publishable one)
    keys.LEGACY_SERVICE_KEY,
    keys.JWT_SECRET,
    "whsec_abc",  # webhook secrets (test_follow_up_and_webhooks)
    "s3cret",
    "sk_wrong",  # test_late_sim_sdk
    "sk_test_0123456789abcdefSECRET",  # test_provider_failures: "the key never travels with an error"
)
# Public by design: printed in docs, sent by every sandbox run.
PUBLIC_KEYS = frozenset({"sandbox-postforme-key", "sandbox-late-key"})
SECRET_ENV = (
    "POSTFORME_API_KEY",
    "LATE_API_KEY",
    "SUPABASE_SECRET_KEY",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_PLAN_TOKEN",
    "SUPABASE_JWT_SECRET",
    "ENCRYPTION_KEY",
)
MIN_SECRET_LENGTH = 6  # shorter values ("k") would match ordinary text
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    where: str  # log | artifact | exception | report | file
    test: str  # the test running when it was seen ("" when unknown)
    secret: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where} [{self.test or 'outside a test'}]: {_mask(self.secret)} in …{self.excerpt}…"


@dataclass
class Scanner:
    """Collects texts as they appear and says which hold a secret. Texts are kept (on disk if large)
    so that secrets learned later in the session (environment values) are searched for in them too."""

    secrets: set[str] = field(default_factory=lambda: set(TEST_SECRETS))
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # (where, test, text)
    current_test: str = ""

    def learn(self, values: Iterable[str | None]) -> None:
        for value in values:
            for part in (value or "").split(","):  # ENCRYPTION_KEY may list several keys
                part = part.strip()
                if len(part) >= MIN_SECRET_LENGTH and part not in PUBLIC_KEYS:
                    self.secrets.add(part)

    def learn_environment(self) -> None:
        self.learn(os.environ.get(name) for name in SECRET_ENV)

    def add(self, where: str, text: str) -> None:
        if text:
            self.texts.append((where, self.current_test, text))

    def findings(self) -> list[Finding]:
        found = []
        for where, test, text in self.texts:
            found += [Finding(where, test, s, _excerpt(text, s)) for s in self.secrets if s in text]
        return found

    def scan_files(self, root: Path) -> list[Finding]:
        needles = {s: s.encode() for s in self.secrets}
        found = []
        for path in _files(root):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for secret, needle in needles.items():
                if needle in data:
                    text = data.decode("utf-8", "replace")
                    found.append(Finding("file", str(path.relative_to(root)), secret, _excerpt(text, secret)))
        return found


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES:
                    yield path
            except OSError:
                continue


def _excerpt(text: str, secret: str, width: int = 60) -> str:
    at = text.find(secret)
    return (
        text[max(at - width, 0) : at + len(secret) + width].replace(secret, _mask(secret)).replace("\n", " ")
    )


def _mask(secret: str) -> str:
    return secret[:3] + "…" + secret[-2:]


# --- where texts come from ------------------------------------------------------------------------


class ScanHandler(logging.Handler):
    """Keeps the full text of every record it sees: message, arguments, traceback."""

    def __init__(self, scanner: Scanner) -> None:
        super().__init__(level=logging.DEBUG)
        self.scanner = scanner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is not ours to report
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.scanner.add(f"log {record.name}", text)


def attach(handler: logging.Handler) -> None:
    """On the root logger and on every logger whose records do not reach the root."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            loggers.append(logger)
    for logger in loggers:
        if handler not in logger.handlers:
            logger.addHandler(handler)


def watch_errors(scanner: Scanner) -> None:
    """Every PostdeckError (and subclass) reports its text and attributes once it is built."""
    from postdeck.errors import PostdeckError

    def wrap(cls: type) -> None:
        original = cls.__dict__.get("__init__")
        if original is None or getattr(original, "_scanned", False):
            return

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            depth = _building.__dict__.setdefault("depth", 0)
            _building.depth = depth + 1
            try:
                original(self, *args, **kwargs)
            finally:
                _building.depth = depth
            if depth == 0:  # the outermost __init__ has run: every attribute is set
                scanner.add(f"exception {type(self).__name__}", _error_text(self))

        __init__._scanned = True  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[misc]

    def wrap_all(cls: type) -> None:
        wrap(cls)
        for sub in cls.__subclasses__():
            wrap_all(sub)

    if "__init__" not in PostdeckError.__dict__:
        PostdeckError.__init__ = lambda self, *args: Exception.__init__(self, *args)  # type: ignore[misc]
    wrap_all(PostdeckError)
    original_subclass_hook = PostdeckError.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        if original_subclass_hook is not None:
            original_subclass_hook.__func__(cls, **kwargs)
        if "__init__" not in cls.__dict__:
            return
        wrap(cls)

    PostdeckError.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]


_building = threading.local()  # how deep in nested error __init__ calls this thread is


def _error_text(error: BaseException) -> str:
    parts = [str(error), repr(error.args)]
    parts += [repr(v) for v in vars(error).values()]
    return "\n".join(parts)


def watch_artifacts(scanner: Scanner) -> bool:
    """Wrap Prefect's create_artifact (sync and async clients), if Prefect is imported. True once done."""
    module = sys.modules.get("prefect.client.orchestration._artifacts.client")
    if module is None:
        return False
    for name in ("ArtifactClient", "ArtifactAsyncClient"):
        cls = getattr(module, name)
        original = cls.create_artifact
        if getattr(original, "_scanned", False):
            continue
        if name == "ArtifactClient":

            def create(self: Any, artifact: Any, _original: Any = original) -> Any:
                scanner.add("artifact", _artifact_text(artifact))
                return _original(self, artifact)

        else:

            async def create(self: Any, artifact: Any, _original: Any = original) -> Any:  # type: ignore[misc]
                scanner.add("artifact", _artifact_text(artifact))
                return await _original(self, artifact)

        create._scanned = True  # type: ignore[attr-defined]
        cls.create_artifact = create
    return True


def _artifact_text(artifact: Any) -> str:
    return "\n".join(str(getattr(artifact, n, "") or "") for n in ("key", "description", "data"))


# --- the plugin -----------------------------------------------------------------------------------


class SecretScanPlugin:
    def __init__(self) -> None:
        self.scanner = Scanner()
        self.handler = ScanHandler(self.scanner)
        self.artifacts_watched = False
        self.findings: list[Finding] = []

    def _refresh(self) -> None:
        attach(self.handler)
        if not self.artifacts_watched:
            self.artifacts_watched = watch_artifacts(self.scanner)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        postdeck_logger = logging.getLogger("postdeck")
        if postdeck_logger.level == logging.NOTSET or postdeck_logger.level > logging.INFO:
            postdeck_logger.setLevel(logging.INFO)
        watch_errors(self.scanner)
        self.scanner.learn_environment()
        self._refresh()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        self.scanner.current_test = item.nodeid
        self._refresh()
        yield
        self.scanner.learn_environment()  # fixtures set the keys the test uses
        self._refresh()  # fixtures imported Prefect and set its logging up

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        self._refresh()
        yield
        self.scanner.learn_environment()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        self.scanner.learn_environment()
        yield
        self.scanner.current_test = ""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.longrepr is not None:
            self.scanner.texts.append((f"report {report.when}", report.nodeid, str(report.longrepr)))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.findings = self.scanner.findings()
        factory = getattr(session.config, "_tmp_path_factory", None)
        if factory is not None:
            try:
                root = factory.getbasetemp()
            except OSError:
                root = None
            if root is not None and root.exists():
                self.findings += self.scanner.scan_files(root)
        if self.findings and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.findings:
            terminalreporter.write_line(
                f"secret scan: no test key found ({len(self.scanner.secrets)} keys, "
                f"{len(self.scanner.texts)} texts, files under the base temp folder)"
            )
            return
        terminalreporter.section("secret scan: test keys found", red=True, bold=True)
        for finding in self.findings[:50]:
            terminalreporter.write_line(str(finding))
        if len(self.findings) > 50:
            terminalreporter.write_line(f"... and {len(self.findings) - 50} more")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("secret-scan"):
        config.pluginmanager.register(SecretScanPlugin(), "secret-scan")
