"""A live run's heartbeat: while it publishes, its claims' lease and its run row keep moving forward.

Claims are leased for `POSTDECK_CLAIM_HEARTBEAT_TIMEOUT` seconds (a minute) only, and a thread renews
them every third of that (`LedgerWriter.renew_claims`). A run that dies stops beating, so the next
run takes its claims over within the timeout (after looking their post keys up), instead of
waiting out a lease as long as the slowest create. One beat per owner and ledger, however many
batches the run publishes at once: `keep_alive` is reference counted.

The run's row in campaign_runs beats the same way (`keep_run_alive`, `CampaignRuns.beat_campaign_run`):
a `running` row whose last beat is older than the timeout belongs to a process that is gone, and is
shown, then recorded, `crashed` (postdeck.engine.runs).

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
from postdeck.ledger.base import CampaignRuns, LedgerWriter

log = logging.getLogger("postdeck.engine.heartbeat")


class _Beating:
    """Calls `_beat` every `timeout / 3` seconds on a daemon thread until stopped."""

    def __init__(self, name: str, *, timeout: float, now: Callable[[], datetime]) -> None:
        self.name, self.timeout, self.now = name, timeout, now
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout)

    def _beat(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.timeout / 3):
            try:
                self._beat()
                self.beats += 1
            except LedgerError as exc:
                log.warning(
                    "%s: heartbeat not stored (it counts as gone %.0fs after the last one): %s",
                    self.name,
                    self.timeout,
                    exc,
                )


class Heartbeat(_Beating):
    """Renews `owner`'s claims every `timeout / 3` seconds on a daemon thread until stopped."""

    def __init__(
        self, ledger: LedgerWriter, owner: str, *, timeout: float, now: Callable[[], datetime]
    ) -> None:
        super().__init__(owner, timeout=timeout, now=now)
        self.ledger, self.owner = ledger, owner

    def _beat(self) -> None:
        self.ledger.renew_claims(self.owner, lease_seconds=self.timeout, now=self.now())


class RunHeartbeat(_Beating):
    """Moves a running campaign run's heartbeat_at forward every `timeout / 3` seconds until stopped."""

    def __init__(
        self, ledger: CampaignRuns, run_id: str, *, timeout: float, now: Callable[[], datetime]
    ) -> None:
        super().__init__(f"campaign run {run_id}", timeout=timeout, now=now)
        self.ledger, self.run_id = ledger, run_id

    def _beat(self) -> None:
        if not self.ledger.beat_campaign_run(self.run_id, now=self.now()):
            # Recorded crashed by a run that found it silent (its beats lost in a ledger outage): no
            # beat revives it; its end, when it comes, is recorded all the same.
            log.warning("%s: not running in the ledger any more (recorded crashed?): beats stop", self.name)
            self._stop.set()


@contextmanager
def keep_run_alive(
    ledger: CampaignRuns, run_id: str, *, timeout: float, now: Callable[[], datetime]
) -> Iterator[RunHeartbeat]:
    """The heartbeat of a campaign run's row while the block runs."""
    beat = RunHeartbeat(ledger, run_id, timeout=timeout, now=now)
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()


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
