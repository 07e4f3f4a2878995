"""What a webhook receiver does before it trusts a request: read a bounded body, parse it as one JSON
object, and remember the events it has handled so that a repeat is not handled again.

Provider events are a few kilobytes; a body over MAX_BODY_BYTES is refused with 413 as soon as it
is declared or streamed past the bound, so it is never held whole in memory.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 1_000_000  # 1 MB


class Refused(Exception):
    """The request is answered with `status` and a short reason; nothing is changed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refused(400, "Content-Length must be a number")
        if int(declared) > limit:
            raise Refused(413, f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a body sent without a length, or longer than it said
            raise Refused(413, f"body over {limit} bytes")
    return bytes(body)


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError:  # the C parser refuses nesting deeper than the recursion limit
        raise Refused(400, "body nested too deeply") from None
    except ValueError:  # not JSON, or not UTF-8
        raise Refused(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "body must be a JSON object")
    return data


class SeenEvents:
    """The ids of the events a receiver has handled, newest last, at most `capacity` of them.

    In memory, so per process: a restarted server, or a second worker, has its own. The stale-event
    tolerance covers what falls out of it or was handled elsewhere (see postdeck.webhooks)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
