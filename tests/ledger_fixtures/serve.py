"""A handler (the PostgREST stand-in) served over loopback HTTP, for code that opens its own client
(`postdeck plan` and `postdeck post` read SUPABASE_URL and connect as in production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.ledger_fixtures.postgrest import Handler


@contextmanager
def served(handler: Handler) -> Iterator[str]:
    """The base URL of a loopback server answering every request with `handler`."""

    class Bridge(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = httpx.Request(
                self.command,
                f"http://{self.headers['host']}{self.path}",
                headers=list(self.headers.items()),
                content=self.rfile.read(length) if length else b"",
            )
            response = handler(request)
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bridge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
