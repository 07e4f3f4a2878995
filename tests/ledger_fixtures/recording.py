"""Record and replay of the Supabase backend's HTTP exchanges (tests/ledger_fixtures/recorded).

`Recorder` wraps a handler (the PostgREST stand-in) and keeps every exchange; `Replayer` serves recorded
exchanges and asserts that each request is exactly the recorded one (method, path, query, the headers
below, body). The key itself is never written to a fixture.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response]
KEY_PLACEHOLDER = "<service-role-key>"
# The headers that carry meaning for PostgREST (X-Client-Info names the OS: left out on purpose).
RECORDED_HEADERS = (
    "accept",
    "content-type",
    "prefer",
    "accept-profile",
    "content-profile",
    "apikey",
    "authorization",
)


def describe(request: httpx.Request, key: str) -> dict[str, Any]:
    """A request as recorded: the service key itself is never written to a fixture."""
    headers = {}
    for name in RECORDED_HEADERS:
        if name in request.headers:
            headers[name] = request.headers[name].replace(key, KEY_PLACEHOLDER)
    return {
        "method": request.method,
        "path": request.url.path,
        "query": [list(item) for item in request.url.params.multi_items()],
        "headers": headers,
        "body": json.loads(request.content) if request.content else None,
    }


def _canonical(body: Any) -> bytes:
    """supabase-py's own encoding of a JSON body (compact, UTF-8): exact bytes, key order included."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class Recorder:
    def __init__(self, handler: Handler, key: str) -> None:
        self.handler = handler
        self.key = key
        self.exchanges: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.handler(request)
        with self._lock:
            self.exchanges.append(
                {
                    "request": describe(request, self.key),
                    "response": {
                        "status": response.status_code,
                        "content_type": response.headers.get("content-type"),
                        "body": json.loads(response.content) if response.content else None,
                    },
                }
            )
        return response

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.exchanges, indent=1, ensure_ascii=False) + "\n")


class Replayer:
    """Serves recorded replies; every request must equal the next recorded one (or, unordered, any unused one)."""

    def __init__(
        self, path: Path, key: str, *, ordered: bool = True, sent_key: str | None = None, bearer: bool = True
    ) -> None:
        """`sent_key`: the key the client sends instead of the recorded `key`; `bearer=False`: the
        client must send it as `apikey` only, so the recorded Authorization header is expected absent."""
        self.path = path
        self.key = sent_key or key
        self.ordered = ordered
        self.exchanges: list[dict[str, Any]] = json.loads(path.read_text())
        if not bearer:
            for exchange in self.exchanges:
                exchange["request"]["headers"].pop("authorization", None)
        self.used = [False] * len(self.exchanges)
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        seen = describe(request, self.key)
        with self._lock:
            index = self._match(seen, request)
            self.used[index] = True
        reply = self.exchanges[index]["response"]
        headers = {"content-type": reply["content_type"]} if reply["content_type"] else {}
        content = json.dumps(reply["body"]).encode() if reply["body"] is not None else b""
        return httpx.Response(reply["status"], content=content, headers=headers)

    def _match(self, seen: dict[str, Any], request: httpx.Request) -> int:
        unused = [i for i, used in enumerate(self.used) if not used]
        candidates = unused[:1] if self.ordered else unused
        for index in candidates:
            recorded = self.exchanges[index]["request"]
            if recorded == seen and (
                recorded["body"] is None or _canonical(recorded["body"]) == request.content
            ):
                return index
        expected = self.exchanges[candidates[0]]["request"] if candidates else "no more requests"
        raise AssertionError(
            f"{self.path.name}: supabase-py sent a request that was not recorded\n"
            f"  sent:     {json.dumps(seen)}\n  expected: {json.dumps(expected)}\n"
            "re-record with POSTDECK_RECORD_LEDGER_FIXTURES=1 if the change is intended"
        )

    def assert_done(self) -> None:
        missing = [self.exchanges[i]["request"] for i, used in enumerate(self.used) if not used]
        assert not missing, f"{self.path.name}: recorded requests never sent: {json.dumps(missing)[:2000]}"
