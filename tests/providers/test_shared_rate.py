"""A provider key's rate budget shared through a SQLite file (providers.shared_rate): two limiters
on one file count each other's requests, share a pause and a learned limit; the file is named by a
digest of the key; a folder that cannot be written falls back to the per-process limiter."""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

from postdeck.core.platform import Platform
from postdeck.providers import shared_rate
from postdeck.providers.postforme import PostForMeClient
from postdeck.providers.rate_book import MemoryRateStore
from postdeck.providers.ratelimit import LATE_WINDOWS, RateLimiter, Window, limiter_for
from postdeck.providers.shared_rate import SqliteRateStore
from postdeck.sandbox.postforme_app import DEFAULT_API_KEY, PostForMeSim, create_app
from postdeck.sandbox.server import SandboxServer
from postdeck.settings import settings


class FakeClock:
    """Wall-clock-like seconds that only move when someone sleeps (or the test moves them)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def shared(path: Path, clock: FakeClock, *windows: Window, time_scale: float = 1.0) -> RateLimiter:
    """What another process would have: its own limiter and connection on the same file."""
    store = SqliteRateStore(path, clock=clock)
    return RateLimiter(windows, sleep=clock.sleep, margin=0.0, time_scale=time_scale, store=store)


def most_in_any_window(sent: list[float], seconds: float) -> int:
    return max(sum(1 for t in sent[i:] if t < start + seconds) for i, start in enumerate(sent))


def test_two_limiters_on_one_file_stay_within_each_window_together(tmp_path: Path) -> None:
    clock = FakeClock()
    windows = (Window(5, 1.0), Window(40, 60.0))
    a, b = (shared(tmp_path / "key.db", clock, *windows) for _ in range(2))
    sent = []
    for i in range(100):
        (a if i % 2 else b).acquire()
        sent.append(clock.now)
        clock.now += 0.01
    assert most_in_any_window(sent, 1.0) == 5 and most_in_any_window(sent, 60.0) == 40
    assert 120.0 <= sent[-1] - sent[0] < 130.0  # 100 requests at 40 a minute, whoever sends them

    # Two limiters each with a book of its own (per process, as before) let twice as many through.
    clock = FakeClock()
    a, b = (RateLimiter(windows, clock=clock, sleep=clock.sleep, margin=0.0) for _ in range(2))
    alone = []
    for i in range(100):
        (a if i % 2 else b).acquire()
        alone.append(clock.now)
        clock.now += 0.01
    assert most_in_any_window(alone, 1.0) == 10 and most_in_any_window(alone, 60.0) == 80


def test_threads_of_two_limiters_on_one_file_never_take_one_slot_twice(tmp_path: Path) -> None:
    """Real time, real threads, two connections: the stamps kept in the file never put a sixth
    request inside any 0.1 s."""
    path = tmp_path / "key.db"
    windows = (Window(5, 0.1), Window(1000, 100.0))  # the long window keeps every stamp in the file
    limiters = [RateLimiter(windows, margin=0.0, store=SqliteRateStore(path)) for _ in range(2)]

    def calls(limiter: RateLimiter) -> None:
        for _ in range(8):
            limiter.acquire()

    threads = [threading.Thread(target=calls, args=(limiter,)) for limiter in limiters for _ in range(3)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads interleave between a transaction's read and its write
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(switch)
    # Neither gave up on the file: a transaction that read before another's write and then wrote
    # too would have been refused (SQLite's busy snapshot), which BEGIN IMMEDIATE rules out.
    assert all(limiter.store.shared for limiter in limiters)  # type: ignore[attr-defined]
    with sqlite3.connect(path) as db:
        stamps = [at for (at,) in db.execute("SELECT at FROM hits ORDER BY at")]
    assert len(stamps) == 48
    # A sixth request waits until the first of the five before it has left the window.
    assert min(later - earlier for earlier, later in zip(stamps, stamps[5:], strict=False)) >= 0.1 - 1e-6


def test_a_second_connection_cannot_read_the_book_while_the_first_may_still_take_a_slot(
    tmp_path: Path,
) -> None:
    """BEGIN IMMEDIATE: the write lock comes before the read, so nobody decides on a book another
    is about to change (a plain BEGIN would let the second read at once, the same last slot free)."""
    first, second = SqliteRateStore(tmp_path / "key.db"), SqliteRateStore(tmp_path / "key.db")
    seen: list[list[float]] = []

    def read_second() -> None:
        with second.transaction() as book:
            seen.append(list(book.hits))

    with first.transaction() as book:
        reader = threading.Thread(target=read_second)
        reader.start()
        reader.join(timeout=0.3)
        assert reader.is_alive() and seen == []  # held at the door
        book.take(1.0)
    reader.join(timeout=10)
    assert seen == [[1.0]]  # and then it sees the slot taken


def test_a_pause_one_process_was_told_holds_the_other(tmp_path: Path) -> None:
    clock = FakeClock()
    a, b = (shared(tmp_path / "key.db", clock) for _ in range(2))
    a.pause(3.0)  # a's 429 said Retry-After: 3
    assert b.delay() == pytest.approx(3.0)
    b.pause(1.0)  # a shorter pause said later does not cut the longer one short
    assert b.acquire() == pytest.approx(3.0)
    assert a.acquire() == 0.0


def test_a_limit_one_process_learned_paces_the_other(tmp_path: Path) -> None:
    clock = FakeClock()
    a, b = (shared(tmp_path / "key.db", clock, *LATE_WINDOWS, time_scale=10) for _ in range(2))
    a.set_limit(60.0, 3)  # LATE's X-RateLimit-Limit: 3 a minute, which is 3 per 6 s here
    assert b.windows == (Window(3, 6.0),)
    started = clock.now
    for limiter in (a, b, a):
        assert limiter.acquire() == 0.0
    assert b.acquire() == pytest.approx(6.0)  # the fourth waits, though b itself sent one
    assert clock.now - started == pytest.approx(6.0)
    # A third limiter opening the file later starts from what is known, not from the assumed 60.
    assert shared(tmp_path / "key.db", clock, *LATE_WINDOWS, time_scale=10).windows == (Window(3, 6.0),)


def test_the_file_is_named_by_a_digest_and_the_scale_is_part_of_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSTDECK_RATE_DIR", str(tmp_path / "rates"))
    key = "pfm-secret-key-for-the-digest-test"
    plain = limiter_for("postforme@https://api.postforme.dev", key, (Window(5, 1.0),))
    scaled = limiter_for("postforme@https://api.postforme.dev", key, (Window(5, 1.0),), time_scale=10)
    other = limiter_for("postforme@https://api.postforme.dev", key + "-2", (Window(5, 1.0),))
    paths = {limiter.store.path for limiter in (plain, scaled, other)}  # type: ignore[attr-defined]
    assert len(paths) == 3 and all(path.parent == tmp_path / "rates" for path in paths)
    plain.acquire()
    plain.pause(0.01)
    for path in (tmp_path / "rates").iterdir():
        assert key not in path.name and key.encode() not in path.read_bytes()
    # Another process asking for the same key, URL and scale opens the same file.
    again = SqliteRateStore(plain.store.path)  # type: ignore[attr-defined]
    with again.transaction() as book:
        assert len(book.hits) == 1 and book.paused_until > 0


def test_the_rate_folder_is_beside_the_ledger_unless_set_or_turned_off() -> None:
    assert settings({}).rate_folder() == Path(".postdeck/rates")
    assert settings({"POSTDECK_LEDGER": "/srv/pd/ledger.db"}).rate_folder() == Path("/srv/pd/rates")
    assert settings({"POSTDECK_RATE_DIR": "/run/rates"}).rate_folder() == Path("/run/rates")
    assert settings({"POSTDECK_RATE_PER_PROCESS": "1"}).rate_folder() is None


def test_per_process_when_turned_off(monkeypatch) -> None:
    monkeypatch.setenv("POSTDECK_RATE_PER_PROCESS", "1")
    limiter = limiter_for("postforme@https://api.postforme.dev", "per-process-key", (Window(5, 1.0),))
    assert isinstance(limiter.store, MemoryRateStore)


@pytest.fixture
def unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rate folder that cannot be made: a plain file is in its way (chmod would not stop root)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("in the way\n")
    monkeypatch.setenv("POSTDECK_RATE_DIR", str(blocker / "rates"))
    monkeypatch.setattr(shared_rate, "_warned", set())
    return blocker / "rates"


def test_a_folder_that_cannot_be_written_costs_one_warning_and_no_call(
    unwritable: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = PostForMeSim()
    with (
        caplog.at_level(logging.WARNING, logger="postdeck.providers.shared_rate"),
        SandboxServer(create_app(sim)) as server,
    ):
        clients = [
            PostForMeClient(api_key=DEFAULT_API_KEY, base_url=server.url, rate_limits=(Window(50, 1.0),)),
            PostForMeClient(api_key=DEFAULT_API_KEY + "-b", base_url=server.url + "/", rate_limits=()),
        ]
        assert clients[0].accounts(platform=Platform.BLUESKY)  # the call goes through all the same
        for client in clients:
            assert client.limiter is not None and not client.limiter.store.shared  # type: ignore[attr-defined]
            client.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(unwritable) in warnings[0].getMessage()
    assert DEFAULT_API_KEY not in caplog.text


def test_the_per_process_fallback_still_paces(unwritable: Path) -> None:
    clock = FakeClock()
    limiter = shared(unwritable / "key.db", clock, Window(2, 1.0))
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_a_file_failing_mid_run_falls_back_keeping_what_it_knew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shared_rate, "_warned", set())
    clock = FakeClock()
    limiter = shared(tmp_path / "key.db", clock, Window(2, 1.0))
    limiter.acquire()
    store = limiter.store
    assert isinstance(store, SqliteRateStore)

    def broken(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_read", broken)
    with caplog.at_level(logging.WARNING, logger="postdeck.providers.shared_rate"):
        assert limiter.acquire() == 0.0  # the second of two: still no wait
        assert limiter.acquire() == pytest.approx(1.0)  # the first, read before the failure, counts
    assert not store.shared and len(caplog.records) == 1


def test_no_more_than_max_open_connections_stay_open(tmp_path: Path) -> None:
    """Many keys (a service's owners, a test session's clients) do not run a process out of files:
    the least recently used connections are closed, and a store reopens its file when used again."""
    clock = FakeClock()
    limiters = [
        shared(tmp_path / f"key-{i}.db", clock, Window(1, 60.0)) for i in range(shared_rate.MAX_OPEN + 8)
    ]
    for limiter in limiters:
        assert limiter.acquire() == 0.0
    stores = [limiter.store for limiter in limiters]
    assert sum(store._db is not None for store in stores) <= shared_rate.MAX_OPEN  # type: ignore[attr-defined]
    assert stores[0]._db is None  # type: ignore[attr-defined]
    assert limiters[0].acquire() == pytest.approx(60.0)  # reopened, and its hit was still there
    assert all(store.shared for store in stores)  # type: ignore[attr-defined]


# --- a slot counts from the answer (issue 19: 429s under CPU contention) ------------------------------


def test_a_request_counts_from_its_answer_so_a_slow_trip_never_crowds_the_next_one(tmp_path: Path) -> None:
    """Sent at 0, answered at 2: the server counted it somewhere in between, so the next may only go at
    3. Counted from the send (what acquire() does), it would have gone at once, at 2."""
    clock = FakeClock()
    for limiter in (
        RateLimiter((Window(1, 1.0),), clock=clock, sleep=clock.sleep, margin=0.0),
        shared(tmp_path / "key.db", clock, Window(1, 1.0)),
    ):
        start = clock.now
        with limiter.slot():
            clock.now += 2.0  # the request's trip
        assert limiter.acquire() == pytest.approx(1.0)
        assert clock.now - start == pytest.approx(3.0)
        clock.now += 10.0


def test_a_request_in_flight_holds_its_slot_until_answered_or_its_process_is_gone(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "key.db"
    first, second = shared(path, clock, Window(1, 1.0)), shared(path, clock, Window(1, 1.0))
    answered = threading.Event()

    def in_flight() -> None:
        with first.slot():
            answered.wait(5)

    sender = threading.Thread(target=in_flight)
    sender.start()
    while True:  # the first request is on its way
        with first.store.transaction() as book:
            if book.hits:
                break
    start = clock.now
    waited = second.acquire()  # another process's: nothing can go while the first is in flight...
    answered.set()
    sender.join()
    # ...so, the first never answering here, it went once the hold was over (a crashed sender's fate).
    assert waited >= 330.0 and clock.now - start >= 330.0
