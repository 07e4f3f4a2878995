"""`postdeck preview --serve`: the site on 127.0.0.1, rebuilt when a campaign file (or anything in
its folder: templates, media) changes. Polls modification times, which needs nothing installed and
is plenty for a person editing a file; the page polls version.json and reloads on a new build.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from postdeck.errors import PostdeckError
from postdeck.ledger.base import LedgerReader
from postdeck.preview.generate import generate

Say = Callable[[str], Any]
Discover = Callable[[], Sequence[Path]]  # the campaign files now (a folder may gain one)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise here
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt page is what a reload must get
        super().end_headers()


def snapshot(files: Sequence[Path]) -> dict[Path, tuple[int, int]]:
    """(mtime, size) of every file a preview of `files` reads: each campaign and its folder's files."""
    seen: dict[Path, tuple[int, int]] = {}
    for folder in sorted({f.resolve().parent for f in files}):
        for path in folder.rglob("*"):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                stat = path.stat()
                seen[path] = (stat.st_mtime_ns, stat.st_size)
    return seen


class PreviewServer:
    """Serves `out` and keeps it built from `discover()`'s files; `start()`, then `stop()`."""

    def __init__(
        self,
        discover: Discover,
        out: Path,
        reader: LedgerReader,
        *,
        port: int = 0,
        poll: float = 0.5,
        say: Say = print,
    ) -> None:
        self.discover, self.out, self.reader, self.poll, self.say = discover, out, reader, poll, say
        handler = functools.partial(_Quiet, directory=str(out))
        try:
            self.http = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:  # the port is taken, most often
            raise PostdeckError(
                f"cannot serve the preview on 127.0.0.1:{port}: {exc.strerror or exc}"
            ) from None
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen = snapshot(discover())

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

    def rebuild_if_changed(self) -> bool:
        files = self.discover()
        now = snapshot(files)
        if now == self._seen:
            return False
        self._seen = now
        try:
            built = generate(files, self.out, self.reader)
        except PostdeckError as exc:  # a half-typed file: say so, keep serving the last good build
            self.say(f"not rebuilt: {exc}")
            return False
        except Exception as exc:  # anything else must not end the watcher unseen
            self.say(f"not rebuilt: {type(exc).__name__}: {exc}")
            return False
        self.say(f"rebuilt: {built.deliveries} deliveries")
        return True

    def _watch(self) -> None:
        while not self._stopped.wait(self.poll):
            self.rebuild_if_changed()


def serve_forever(discover: Discover, out: Path, reader: LedgerReader, *, port: int, say: Say) -> None:
    """Serve until Ctrl-C."""
    server = PreviewServer(discover, out, reader, port=port, say=say).start()
    say(f"serving {server.url} (Ctrl-C to stop)")
    try:
        server._stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
