"""A live run's heartbeat: while it publishes, its claims' lease keeps moving forward.

Claims are leased for `POSTDECK_CLAIM_HEARTBEAT_TIMEOUT` seconds (a minute) only, and a thread renews
them every third of that (`LedgerWriter.renew_claims`). A run that dies stops beating, so the next
run takes its claims over within the timeout (after looking their post keys up), instead of
waiting out a lease as long as the slowest create. One beat per owner and ledger, however many
batches the run publishes at once: `keep_alive` is reference counted.

A beat the ledger cannot store is logged and tried again at the next; if the ledger stays down past
the timeout, another run may take a claim over while this one sends it: the takeover looks the post
key up first, and this run can no longer note an attempt or record an outcome for a claim it lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from postdeck.errors import LedgerError
from postdeck.ledger.base import LedgerWriter

log = logging.getLogger("postdeck.engine.heartbeat")


class Heartbeat:
    """Renews `owner`'s claims every `timeout / 3` seconds on a daemon thread until stopped."""

    def __init__(
        self, ledger: LedgerWriter, owner: str, *, timeout: float, now: Callable[[], datetime]
    ) -> None:
        self.ledger, self.owner, self.timeout, self.now = ledger, owner, timeout, now
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {owner}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.timeout / 3):
            try:
                self.ledger.renew_claims(self.owner, lease_seconds=self.timeout, now=self.now())
                self.beats += 1
            except LedgerError as exc:
                log.warning(
                    "%s: heartbeat not stored (claims expire in %.0fs without one): %s",
                    self.owner,
                    self.timeout,
                    exc,
                )


_LOCK = threading.Lock()
_LIVE: dict[tuple[int, str], tuple[Heartbeat, int]] = {}


@contextmanager
def keep_alive(
    ledger: LedgerWriter, owner: str, *, timeout: float, now: Callable[[], datetime]
) -> Iterator[Heartbeat]:
    """The heartbeat of `owner` at `ledger` while the block runs (started by the first, stopped by the
    last of the blocks running at once)."""
    slot = (id(ledger), owner)
    with _LOCK:
        beat, users = _LIVE.get(slot) or (Heartbeat(ledger, owner, timeout=timeout, now=now), 0)
        if users == 0:
            beat.start()
        _LIVE[slot] = (beat, users + 1)
    try:
        yield beat
    finally:
        with _LOCK:
            beat, users = _LIVE[slot]
            if users == 1:
                del _LIVE[slot]
            else:
                _LIVE[slot] = (beat, users - 1)
        if users == 1:
            beat.stop()
