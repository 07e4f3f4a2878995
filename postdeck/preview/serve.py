"""`postdeck preview --serve`: the site on 127.0.0.1, rebuilt when a campaign file (or anything in
its folder: templates, media) changes, or the ledger does (a publish in another terminal changes the
statuses). Polls modification times, which needs nothing installed and is plenty for a person
editing a file; the page polls version.json and reloads on a new build.

The ledger is polled cheaply: the SQLite file's and its write-ahead log's modification time and size
(reading changes neither); a ledger that is no local file (Supabase) by the fingerprint of the served
campaigns' rows, every few seconds.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from postdeck.engine.plan_fingerprint import ledger_fingerprint
from postdeck.errors import PostdeckError
from postdeck.ledger.base import LedgerReader
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.preview.generate import generate
from postdeck.preview.model import Refine

Say = Callable[[str], Any]
Discover = Callable[[], Sequence[Path]]  # the campaign files now (a folder may gain one)
LEDGER_POLL = 5.0  # seconds between reads of a ledger that is no local file (a query per campaign)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise here
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt page is what a reload must get
        super().end_headers()


def snapshot(files: Sequence[Path], skip: Path | None = None) -> dict[Path, tuple[int, int]]:
    """(mtime, size) of every file a preview of `files` reads: each campaign and its folder's files,
    but for those under `skip` (the site itself, when it is written inside a campaign's folder)."""
    skipped = skip.resolve() if skip is not None else None
    seen: dict[Path, tuple[int, int]] = {}
    for folder in sorted({f.resolve().parent for f in files}):
        for path in folder.rglob("*"):
            if skipped is not None and path.is_relative_to(skipped):
                continue
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                stat = path.stat()
                seen[path] = (stat.st_mtime_ns, stat.st_size)
    return seen


def ledger_stamp(reader: LedgerReader, campaigns: Sequence[str]) -> object:
    """What changes when the ledger does: for a SQLite ledger, (mtime, size) of its file and of its
    write-ahead log (a commit writes one or the other); for any other, the fingerprint of the rows of
    `campaigns` (what the preview shows of it). Raises what reading the ledger raises."""
    if isinstance(reader, SqliteLedger):
        return tuple(_file_stamp(Path(f"{reader.path}{suffix}")) for suffix in ("", "-wal"))
    return ledger_fingerprint([r for name in campaigns for r in reader.deliveries(name)])


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:  # the log is removed when the last connection closes
        return None
    return (stat.st_mtime_ns, stat.st_size)


class PreviewServer:
    """Serves `out` and keeps it built from `discover()`'s files and the ledger `reader`; `start()`,
    then `stop()`. `campaigns`: the names in the build being served (a ledger that is no file is
    watched through their rows; each rebuild updates them)."""

    def __init__(
        self,
        discover: Discover,
        out: Path,
        reader: LedgerReader,
        *,
        campaigns: Sequence[str] = (),
        port: int = 0,
        poll: float = 0.5,
        ledger_poll: float | None = None,  # default: `poll` for a SQLite file, LEDGER_POLL otherwise
        say: Say = print,
        refine: Refine | None = None,
    ) -> None:
        self.discover, self.out, self.reader, self.poll, self.say = discover, out, reader, poll, say
        self.refine = refine
        self.campaigns = tuple(campaigns)
        if ledger_poll is None:
            ledger_poll = poll if isinstance(reader, SqliteLedger) else LEDGER_POLL
        self.ledger_poll = ledger_poll
        self._ledger_due = 0.0
        self._ledger_problem = ""
        handler = functools.partial(_Quiet, directory=str(out))
        try:
            self.http = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:  # the port is taken, most often
            raise PostdeckError(
                f"cannot serve the preview on 127.0.0.1:{port}: {exc.strerror or exc}"
            ) from None
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen = snapshot(discover(), out)
        self._ledger_seen = self._ledger_now()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> PreviewServer:
        for target in (self.http.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True, name=f"preview-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.http.shutdown()
        self.http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _ledger_now(self) -> object | None:
        """The ledger's stamp, read at most every `ledger_poll` seconds; None when not read (not due,
        or unreadable: said once, until it reads again)."""
        if time.monotonic() < self._ledger_due:
            return None
        self._ledger_due = time.monotonic() + self.ledger_poll
        try:
            stamp = ledger_stamp(self.reader, self.campaigns)
        except (PostdeckError, OSError) as exc:
            if str(exc) != self._ledger_problem:
                self._ledger_problem = str(exc)
                self.say(f"ledger not read: {exc}")
            return None
        self._ledger_problem = ""
        return stamp

    def rebuild_if_changed(self) -> bool:
        files = self.discover()
        now = snapshot(files, self.out)
        ledger = self._ledger_now()  # before building: a change during the build is seen next time
        ledger_changed = ledger is not None and ledger != self._ledger_seen
        files_changed = now != self._seen
        if not (files_changed or ledger_changed):
            return False
        self._seen = now
        if ledger is not None:
            self._ledger_seen = ledger
        try:
            built = generate(files, self.out, self.reader, refine=self.refine)
        except PostdeckError as exc:  # a half-typed file: say so, keep serving the last good build
            self.say(f"not rebuilt: {exc}")
            return False
        except Exception as exc:  # anything else must not end the watcher unseen
            self.say(f"not rebuilt: {type(exc).__name__}: {exc}")
            return False
        self.campaigns = built.campaigns
        why = "" if files_changed else " (the ledger changed)"
        self.say(f"rebuilt: {built.deliveries} deliveries{why}")
        return True

    def _watch(self) -> None:
        while not self._stopped.wait(self.poll):
            self.rebuild_if_changed()


def serve_forever(
    discover: Discover,
    out: Path,
    reader: LedgerReader,
    *,
    campaigns: Sequence[str],
    port: int,
    say: Say,
    refine: Refine | None = None,
) -> None:
    """Serve until Ctrl-C."""
    server = PreviewServer(discover, out, reader, campaigns=campaigns, port=port, say=say, refine=refine)
    server.start()
    say(f"serving {server.url} (Ctrl-C to stop)")
    try:
        server._stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
