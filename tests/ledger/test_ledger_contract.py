"""One contract for every ledger backend.

Backends: SQLite (a real file); Supabase through supabase-py against PostgREST emulated over the
embedded PostgreSQL (real SQL, real RLS, real functions); and Supabase against the recorded
exchanges in tests/ledger_fixtures/recorded (every request supabase-py sends must be exactly the one
recorded: method, path, query, Prefer/Accept/Content-Type/apikey/Authorization headers, body).
Re-record after an intended change of the backend's requests:

    POSTDECK_RECORD_LEDGER_FIXTURES=1 .venv/bin/python -m pytest tests/ledger/test_ledger_contract.py -k recorded

tests/ledger/test_ledger_live.py runs the same contract against a real Supabase project.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postdeck.core.keys import DeliveryKey, scoped_key
from postdeck.core.outcome import Outcome
from postdeck.core.status import DeliveryStatus
from postdeck.errors import LedgerError
from postdeck.ledger.base import CancelRequests, LedgerRefused, LedgerUnavailable
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import ClaimRequest, ClaimState, DeliveryRecord, RunSource
from postdeck.ledger.sqlite import SqliteLedger
from postdeck.ledger.supabase import SupabaseLedger
from postdeck.ledger.supabase_transport import is_uuid
from tests.ledger_fixtures.keys import LEGACY_SERVICE_KEY, SERVER_KEYS
from tests.ledger_fixtures.postgrest import PostgrestEmulator, Recorder, Replayer

pytest_plugins = ["tests.pg"]

SERVICE_KEY = LEGACY_SERVICE_KEY  # the recordings' key; every Supabase backend also runs with SECRET_KEY
RECORDED = Path(__file__).parents[1] / "ledger_fixtures" / "recorded"
RECORDING = os.environ.get("POSTDECK_RECORD_LEDGER_FIXTURES") == "1"
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
USER = "00000000-0000-4000-8000-0000000000a1"
OTHER_USER = "00000000-0000-4000-8000-0000000000b2"
UNORDERED = {  # threads interleave freely
    "test_two_threads_claiming_the_same_keys_win_each_key_once",
    "test_two_batch_claimers_in_opposite_orders_win_each_key_once",
}


def supabase_over(handler, key: str = SERVICE_KEY) -> SupabaseLedger:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return SupabaseLedger("http://supabase.test", key, http_client=client)


# Each Supabase backend with each generation of server key (tests/ledger_fixtures/keys.py).
SUPABASE_BACKENDS = [
    pytest.param(f"supabase-{kind}-{mode}", marks=[pytest.mark.postgres] if mode == "pg" else [])
    for mode in ("pg", "recorded")
    for kind in SERVER_KEYS
]


@pytest.fixture(params=["sqlite", *SUPABASE_BACKENDS])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        yield SqliteLedger(tmp_path / "ledger.db")
        return
    _, kind, mode = request.param.split("-")
    key = SERVER_KEYS[kind]
    if mode == "pg":
        yield supabase_over(PostgrestEmulator(request.getfixturevalue("pg_dsn")), key)
        return
    path = RECORDED / f"{request.node.originalname}.json"
    if RECORDING:
        if kind != "legacy":
            pytest.skip("recorded once, with the legacy key; the secret key's replay drops Authorization")
        recorder = Recorder(PostgrestEmulator(request.getfixturevalue("pg_dsn")), SERVICE_KEY)
        yield supabase_over(recorder)
        recorder.save(path)
        return
    if not path.exists():
        pytest.fail(f"no recorded exchanges at {path}: record them with POSTDECK_RECORD_LEDGER_FIXTURES=1")
    # With a secret key, supabase-py's requests are the recorded ones without the Authorization header.
    replayer = Replayer(
        path,
        SERVICE_KEY,
        ordered=request.node.originalname not in UNORDERED,
        sent_key=key,
        bearer=kind == "legacy",
    )
    yield supabase_over(replayer, key)
    replayer.assert_done()


@pytest.fixture
def ns() -> str:
    """A prefix for campaign names and digests: constant here (recordings), random on a live project."""
    return "t"


@pytest.fixture
def user() -> str:
    return USER


@pytest.fixture
def other_user() -> str:
    return OTHER_USER


def request_for(key: str, user_id: str | None = None, **extra) -> ClaimRequest:
    """The claim of `key` for `user_id`; a key without a scope gets the user's (`<user>:campaign/…`)."""
    key = scoped_key(key, user_id) if user_id and is_uuid(user_id) else key
    parsed = DeliveryKey.parse(key.rpartition("~")[0] or key)  # a later generation: the same platform
    campaign, batch, platform = parsed.campaign, parsed.batch_id, parsed.platform
    fields = {
        "content_hash": "content-1",
        "schedule_hash": "schedule-1",
        "caption": "hello",
        "scheduled_for": None,
    }
    fields.update(extra)
    return ClaimRequest(key, campaign, batch, platform, user_id=user_id, **fields)


class LedgerContract:
    """What every backend must do, the same way. Subclasses provide the `ledger`, `ns`, `user` fixtures."""

    # --- claims ---------------------------------------------------------------------------------

    def test_claim_is_insert_if_absent_and_final_states_are_never_claimed_again(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        first = ledger.claim(request_for(key), owner="run-1", lease_seconds=60, now=NOW)
        assert first.state == ClaimState.CLAIMED
        assert (first.record.status, first.record.owner, first.record.attempts) == ("claimed", "run-1", 1)
        assert first.record.lease_until == NOW + timedelta(seconds=60)
        assert (
            ledger.claim(request_for(key), owner="run-2", lease_seconds=60, now=NOW).state == ClaimState.HELD
        )
        ledger.record(
            key,
            Outcome(DeliveryStatus.POSTED, provider="postforme", url="https://x.test/1"),
            owner="run-1",
            now=NOW,
        )
        later = ledger.claim(request_for(key), owner="run-2", lease_seconds=60, now=NOW + timedelta(hours=1))
        assert later.state == ClaimState.DONE and later.record.url == "https://x.test/1"
        assert later.record.owner == "run-1" and later.record.lease_until is None

    def test_a_not_sent_delivery_is_claimed_again_and_looked_up_first(self, ledger, ns) -> None:
        """Issue 18: unknown → not-sent (no provider has it) → the next claim takes it, as a recovery."""
        key = f"{ns}-c/ns/twitter"
        ledger.claim(request_for(key), owner="run-1", lease_seconds=60, now=NOW)
        ledger.note_attempt([key], owner="run-1", provider="postforme:global", post_key="pk-1")
        ledger.record(
            key, Outcome(DeliveryStatus.UNKNOWN, provider="postforme", error="?"), owner="run-1", now=NOW
        )
        later = NOW + timedelta(minutes=20)
        stored = ledger.record(
            key, Outcome(DeliveryStatus.NOT_SENT, error="found at no provider"), owner=None, now=later
        )
        assert (stored.status, stored.error, stored.lease_until) == ("not-sent", "found at no provider", None)
        again = ledger.claim(request_for(key), owner="run-2", lease_seconds=60, now=later)
        assert again.state == ClaimState.RECOVERED
        record = again.record
        assert (record.status, record.owner, record.attempts) == ("claimed", "run-2", 2)
        assert record.lease_until == later + timedelta(seconds=60)
        assert (record.post_key, record.attempted_providers) == ("pk-1", ("postforme:global",))
        # A second claimer now finds it held; and no delivery moves to not-sent but from unknown.
        assert (
            ledger.claim(request_for(key), owner="run-3", lease_seconds=60, now=later).state
            == ClaimState.HELD
        )
        with pytest.raises(LedgerRefused, match="cannot move from claimed to not-sent"):
            ledger.record(key, Outcome(DeliveryStatus.NOT_SENT), owner="run-2", now=later)

    def test_the_heartbeat_renews_only_its_owners_claims(self, ledger, ns) -> None:
        mine, also_mine, theirs = (f"{ns}-c/hb/{p}" for p in ("twitter", "bluesky", "linkedin"))
        ledger.claim_many(
            [request_for(mine), request_for(also_mine)], owner="run-1", lease_seconds=60, now=NOW
        )
        ledger.claim(request_for(theirs), owner="run-2", lease_seconds=60, now=NOW)
        ledger.record(also_mine, Outcome(DeliveryStatus.POSTED), owner="run-1", now=NOW)
        beat = NOW + timedelta(seconds=40)
        assert ledger.renew_claims("run-1", lease_seconds=60, now=beat) == 1
        assert ledger.get(mine).lease_until == beat + timedelta(seconds=60)
        assert ledger.get(also_mine).lease_until is None  # an outcome holds no lease
        assert ledger.get(theirs).lease_until == NOW + timedelta(seconds=60)
        # Past run-2's last lease, its claim is taken over; run-1's, renewed, is still held.
        after = NOW + timedelta(seconds=70)
        assert ledger.claim(request_for(theirs), owner="run-3", lease_seconds=60, now=after).state == (
            ClaimState.RECOVERED
        )
        assert (
            ledger.claim(request_for(mine), owner="run-3", lease_seconds=60, now=after).state
            == ClaimState.HELD
        )

    def test_a_claim_keeps_what_the_plan_compares(self, ledger, ns, user) -> None:
        key = f"{user}:{ns}-c/a/linkedin"  # a user's delivery: keyed by the user
        at = datetime(2030, 2, 1, 9, 30, tzinfo=UTC)
        request = request_for(
            key, user, content_hash="c-9", schedule_hash="s-9", caption="ünïcode ✓", scheduled_for=at
        )
        ledger.claim(request, owner="run", lease_seconds=60, now=NOW)
        record = ledger.get(key)
        assert (record.campaign, record.batch_id, record.platform) == (f"{ns}-c", "a", "linkedin")
        assert (record.content_hash, record.schedule_hash, record.caption) == ("c-9", "s-9", "ünïcode ✓")
        assert record.scheduled_for == at and record.user_id == user
        assert record.created_at == NOW and record.updated_at == NOW
        assert ledger.get(f"{ns}-c/a/nothing") is None
        assert ledger.get(f"{ns}-c/a/linkedin") is None  # the key without its user is another delivery

    def test_a_claim_for_another_users_key_is_refused_never_answered_with_their_row(
        self, ledger, ns, user, other_user
    ) -> None:
        """Issue 18, B: a claim of one user's key for another user (or for none) is refused, naming both,
        and changes nothing; the other user's delivery of the same name is a claim of its own."""
        mine = f"{user}:{ns}-c/a/twitter"
        ledger.claim(request_for(mine, user), owner="run-a", lease_seconds=60, now=NOW)
        ledger.record(mine, Outcome(DeliveryStatus.POSTED, provider="late"), owner="run-a", now=NOW)
        before = ledger.get(mine)
        for stranger in (other_user, None):
            request = dataclasses.replace(request_for(mine, user), user_id=stranger)
            with pytest.raises(LedgerRefused, match=f"{mine}.*{user}") as refused:
                ledger.claim(request, owner="run-b", lease_seconds=60, now=NOW)
            assert str(stranger) in str(refused.value) if stranger else "without a user" in str(refused.value)
            with pytest.raises(LedgerRefused, match=user):
                ledger.claim_many([request], owner="run-b", lease_seconds=60, now=NOW)
        # Unscoped while it has a user: what a postdeck from before keys were scoped would send.
        old_key = dataclasses.replace(request_for(f"{ns}-c/a/twitter"), user_id=other_user)
        with pytest.raises(LedgerRefused, match="scoped"):
            ledger.claim(old_key, owner="run-b", lease_seconds=60, now=NOW)
        assert ledger.get(mine) == before and ledger.get(f"{ns}-c/a/twitter") is None
        theirs = ledger.claim(
            request_for(f"{ns}-c/a/twitter", other_user), owner="run-b", lease_seconds=60, now=NOW
        )
        assert theirs.state == ClaimState.CLAIMED and theirs.record.key == f"{other_user}:{ns}-c/a/twitter"
        assert theirs.record.user_id == other_user and ledger.get(mine) == before

    def test_an_expired_lease_is_recovered_with_what_the_dead_owner_attempted(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        ledger.claim(request_for(key), owner="dead", lease_seconds=60, now=NOW)
        ledger.note_attempt([key], owner="dead", provider="postforme:global", post_key="pd_1")
        ledger.note_attempt([key], owner="dead", provider="postforme:global", post_key="pd_1")  # no duplicate
        ledger.note_attempt([key], owner="dead", provider="late:global", post_key="pd_1")
        claim = ledger.claim(request_for(key), owner="new", lease_seconds=60, now=NOW + timedelta(seconds=61))
        assert claim.state == ClaimState.RECOVERED
        assert claim.record.owner == "new" and claim.record.post_key == "pd_1"
        assert claim.record.attempted_providers == ("postforme:global", "late:global")
        assert claim.record.attempts == 2

    def test_a_retried_run_takes_its_own_claim_back(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        ledger.claim(request_for(key), owner="run", lease_seconds=600, now=NOW)
        again = ledger.claim(request_for(key), owner="run", lease_seconds=600, now=NOW + timedelta(seconds=5))
        assert again.state == ClaimState.RECOVERED and again.record.attempts == 2

    def test_two_threads_claiming_the_same_keys_win_each_key_once(self, ledger, ns) -> None:
        keys = [f"{ns}-c/b{i}/twitter" for i in range(8)]
        barrier = threading.Barrier(2)
        won: dict[str, list[str]] = {}

        def claimer(owner: str) -> None:
            barrier.wait()
            won[owner] = [
                k
                for k in keys
                if ledger.claim(request_for(k), owner=owner, lease_seconds=600, now=NOW).state == "claimed"
            ]

        threads = [threading.Thread(target=claimer, args=(owner,)) for owner in ("p1", "p2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(won["p1"] + won["p2"]) == sorted(keys)
        assert {ledger.get(k).owner for k in won["p1"]} <= {"p1"}

    # --- batch claims (one transaction per batch) -----------------------------------------------

    def test_a_batch_claim_answers_each_request_as_claim_would_in_request_order(self, ledger, ns) -> None:
        held, done, expired = f"{ns}-c/b/twitter", f"{ns}-c/d/twitter", f"{ns}-c/c/twitter"
        new_z, new_a = f"{ns}-c/z/twitter", f"{ns}-c/a/twitter"  # request order is not key order
        ledger.claim(request_for(held), owner="run-2", lease_seconds=3600, now=NOW)
        ledger.claim(request_for(done), owner="run-2", lease_seconds=60, now=NOW)
        ledger.record(done, Outcome(DeliveryStatus.POSTED, url="https://x.test/d"), owner="run-2", now=NOW)
        ledger.claim(request_for(expired), owner="dead", lease_seconds=60, now=NOW)
        ledger.note_attempt([expired], owner="dead", provider="late:global", post_key="pd_c")
        later = NOW + timedelta(minutes=2)
        keys = [new_z, held, done, expired, new_a]

        claims = ledger.claim_many(
            [request_for(k, caption=f"caption {k}") for k in keys],
            owner="run-1",
            lease_seconds=600,
            now=later,
        )
        assert [c.record.key for c in claims] == keys
        assert [c.state for c in claims] == ["claimed", "held", "done", "recovered", "claimed"]
        assert [c.record.owner for c in claims] == ["run-1", "run-2", "run-2", "run-1", "run-1"]
        assert [c.record.attempts for c in claims] == [1, 1, 1, 2, 1]
        assert claims[0].record.lease_until == later + timedelta(seconds=600)
        assert claims[0].record.caption == f"caption {new_z}" and claims[4].record.created_at == later
        assert claims[2].record.url == "https://x.test/d" and claims[2].record.lease_until is None
        assert claims[3].record.post_key == "pd_c" and claims[3].record.attempted_providers == (
            "late:global",
        )
        assert [ledger.get(k) for k in keys] == [c.record for c in claims]

        # The same batch again (a retried run): its own claims come back as recovered, as with claim().
        again = ledger.claim_many(
            [request_for(k) for k in keys], owner="run-1", lease_seconds=600, now=later + timedelta(seconds=5)
        )
        assert [c.state for c in again] == ["recovered", "held", "done", "recovered", "recovered"]
        assert [c.record.attempts for c in again] == [2, 1, 1, 3, 2]
        single = ledger.claim(request_for(new_a), owner="run-1", lease_seconds=600, now=later)
        assert single.state == ClaimState.RECOVERED and single.record.attempts == 3

    def test_a_batch_claim_naming_a_key_twice_claims_it_then_takes_it_back(self, ledger, ns) -> None:
        key, other = f"{ns}-c/a/twitter", f"{ns}-c/b/twitter"
        claims = ledger.claim_many(
            [request_for(key), request_for(other), request_for(key)], owner="run", lease_seconds=60, now=NOW
        )
        assert [(c.record.key, c.state, c.record.attempts) for c in claims] == [
            (key, "claimed", 1),
            (other, "claimed", 1),
            (key, "recovered", 2),
        ]

    def test_a_batch_claim_is_all_or_nothing(self, ledger, ns) -> None:
        new, expired, last = f"{ns}-c/a/twitter", f"{ns}-c/b/twitter", f"{ns}-c/c/twitter"
        ledger.claim(request_for(expired), owner="dead", lease_seconds=60, now=NOW)
        # A request the database itself refuses (a delivery needs its campaign: NOT NULL in both
        # schemas), after the batch has already inserted one claim and taken over another.
        refused = dataclasses.replace(request_for(f"{ns}-c/z/twitter"), campaign=None)
        batch = [request_for(new), request_for(expired), refused, request_for(last)]
        with pytest.raises(LedgerRefused):
            ledger.claim_many(batch, owner="run", lease_seconds=60, now=NOW + timedelta(minutes=2))
        assert ledger.get(new) is None and ledger.get(last) is None
        kept = ledger.get(expired)
        assert (kept.owner, kept.attempts, kept.lease_until) == ("dead", 1, NOW + timedelta(seconds=60))
        assert ledger.get(f"{ns}-c/z/twitter") is None

    def test_an_empty_batch_is_an_empty_answer(self, ledger) -> None:
        assert ledger.claim_many([], owner="run", lease_seconds=60, now=NOW) == []
        assert ledger.record_many([], owner="run", now=NOW) == []

    def test_two_batch_claimers_in_opposite_orders_win_each_key_once(self, ledger, ns) -> None:
        """Two runs claiming overlapping batches at once: each key is won exactly once, and neither
        batch fails (tests/ledger/test_migrations_pg.py forces the interleaving that would deadlock)."""
        keys = [f"{ns}-c/b{i}/twitter" for i in range(8)]
        barrier = threading.Barrier(2)
        won: dict[str, list[str]] = {}

        def claimer(owner: str, order: list[str]) -> None:
            barrier.wait()
            claims = ledger.claim_many(
                [request_for(k) for k in order], owner=owner, lease_seconds=600, now=NOW
            )
            won[owner] = [c.record.key for c in claims if c.state == ClaimState.CLAIMED]

        threads = [
            threading.Thread(target=claimer, args=("p1", keys)),
            threading.Thread(target=claimer, args=("p2", keys[::-1])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert set(won) == {"p1", "p2"}, "a batch claimer failed"
        assert sorted(won["p1"] + won["p2"]) == sorted(keys)
        assert {ledger.get(k).owner for k in won["p1"]} <= {"p1"}
        assert {ledger.get(k).owner for k in won["p2"]} <= {"p2"}

    # --- attempts and outcomes ------------------------------------------------------------------

    def test_attempts_are_noted_for_all_keys_of_a_post_or_for_none(self, ledger, ns) -> None:
        mine, theirs = f"{ns}-c/a/twitter", f"{ns}-c/a/linkedin"
        ledger.claim(request_for(mine), owner="run-1", lease_seconds=60, now=NOW)
        ledger.claim(request_for(theirs), owner="run-2", lease_seconds=60, now=NOW)
        with pytest.raises(LedgerRefused, match=f"delivery {theirs} is not claimed by run-1"):
            ledger.note_attempt([mine, theirs], owner="run-1", provider="late:global", post_key="pd_2")
        assert ledger.get(mine).attempted_providers == () and ledger.get(mine).post_key is None

    def test_states_never_move_backwards(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        ledger.claim(request_for(key), owner="run", lease_seconds=60, now=NOW)
        ledger.record(
            key,
            Outcome(DeliveryStatus.SCHEDULED, provider="late", provider_post_id="p1"),
            owner="run",
            now=NOW,
        )
        rescheduled = ledger.record(key, Outcome(DeliveryStatus.SCHEDULED), owner="run", now=NOW)
        assert rescheduled.status == "scheduled" and rescheduled.provider_post_id == "p1"
        ledger.record(key, Outcome(DeliveryStatus.POSTED, url="https://x.test/p1"), owner="run", now=NOW)
        with pytest.raises(LedgerRefused, match="cannot move from posted to scheduled"):
            ledger.record(key, Outcome(DeliveryStatus.SCHEDULED), owner="run", now=NOW)
        with pytest.raises(LedgerRefused, match="cannot move from posted to claimed"):
            ledger.record(key, Outcome(DeliveryStatus.CLAIMED), owner=None, now=NOW)
        assert ledger.get(key).status == "posted"

    def test_another_runs_claim_cannot_be_recorded_over(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        ledger.claim(request_for(key), owner="run-1", lease_seconds=60, now=NOW)
        with pytest.raises(LedgerRefused, match="claimed by another run"):
            ledger.record(key, Outcome(DeliveryStatus.POSTED), owner="run-2", now=NOW)
        with pytest.raises(LedgerRefused, match="never claimed"):
            ledger.record(f"{ns}-c/a/nothing", Outcome(DeliveryStatus.POSTED), owner="run-1", now=NOW)
        assert ledger.get(key).status == "claimed"

    def test_a_batch_of_outcomes_stores_each_and_refuses_item_by_item(self, ledger, ns) -> None:
        mine_z, mine_a = f"{ns}-c/z/twitter", f"{ns}-c/a/twitter"
        theirs, posted, never = f"{ns}-c/t/twitter", f"{ns}-c/p/twitter", f"{ns}-c/n/twitter"
        for key in (mine_z, mine_a, posted):
            ledger.claim(request_for(key), owner="run-1", lease_seconds=60, now=NOW)
        ledger.claim(request_for(theirs), owner="run-2", lease_seconds=60, now=NOW)
        ledger.record(posted, Outcome(DeliveryStatus.POSTED), owner="run-1", now=NOW)
        later = NOW + timedelta(seconds=1)

        results = ledger.record_many(
            [
                (mine_z, Outcome(DeliveryStatus.POSTED, provider="late", url="https://x.test/z")),
                (theirs, Outcome(DeliveryStatus.POSTED)),
                (posted, Outcome(DeliveryStatus.SCHEDULED)),
                (never, Outcome(DeliveryStatus.POSTED)),
                (mine_a, Outcome(DeliveryStatus.FAILED, provider="late", error="rejected")),
            ],
            owner="run-1",
            now=later,
        )
        stored_z, refused_theirs, refused_posted, refused_never, stored_a = results
        assert isinstance(stored_z, DeliveryRecord) and isinstance(stored_a, DeliveryRecord)
        assert (stored_z.key, stored_z.status, stored_z.url) == (mine_z, "posted", "https://x.test/z")
        assert (stored_a.key, stored_a.status, stored_a.error) == (mine_a, "failed", "rejected")
        assert stored_z.lease_until is None and stored_a.updated_at == later
        for refusal, says in [
            (refused_theirs, f"cannot record {theirs}: claimed by another run"),
            (refused_posted, "cannot move from posted to scheduled"),
            (refused_never, f"cannot record {never}: it was never claimed"),
        ]:
            assert isinstance(refusal, LedgerRefused) and says in str(refusal)
        assert ledger.get(mine_z) == stored_z and ledger.get(mine_a) == stored_a
        assert (ledger.get(theirs).status, ledger.get(theirs).owner) == ("claimed", "run-2")
        assert ledger.get(posted).status == "posted" and ledger.get(never) is None

    def test_only_the_owners_claims_no_create_was_tried_for_are_released(self, ledger, ns) -> None:
        fresh, tried, done = f"{ns}-c/a/twitter", f"{ns}-c/b/twitter", f"{ns}-c/c/twitter"
        theirs, missing, taken = f"{ns}-c/d/twitter", f"{ns}-c/e/twitter", f"{ns}-c/f/twitter"
        ledger.claim(request_for(taken), owner="dead", lease_seconds=60, now=NOW)
        later = NOW + timedelta(minutes=5)
        ledger.claim_many(
            [request_for(k) for k in (fresh, tried, done, taken)], owner="run", lease_seconds=600, now=later
        )
        ledger.claim(request_for(theirs), owner="other", lease_seconds=600, now=later)
        ledger.note_attempt([tried], owner="run", provider="late:global", post_key="pk_b")
        ledger.record(done, Outcome(DeliveryStatus.FAILED, error="refused"), owner="run", now=later)

        assert ledger.release([fresh, tried, done, theirs, missing, taken], owner="run") == [fresh]
        assert ledger.get(fresh) is None
        assert ledger.get(tried).status == "claimed"  # a create may have gone out: never forgotten
        assert ledger.get(done).status == "failed" and ledger.get(theirs).owner == "other"
        # Known before this claim (taken over from a dead run): kept, whatever became of it.
        assert (ledger.get(taken).owner, ledger.get(taken).attempts) == ("run", 2)
        assert ledger.release([], owner="run") == []
        # Released: anyone claims it afresh, with no lease to wait out.
        again = ledger.claim(request_for(fresh), owner="next", lease_seconds=600, now=NOW)
        assert (again.state, again.record.attempts) == (ClaimState.CLAIMED, 1)

    def test_a_batch_of_outcomes_for_one_key_is_applied_in_order(self, ledger, ns) -> None:
        key, other = f"{ns}-c/a/twitter", f"{ns}-c/b/twitter"
        ledger.claim_many([request_for(key), request_for(other)], owner="run", lease_seconds=60, now=NOW)
        results = ledger.record_many(
            [
                (key, Outcome(DeliveryStatus.SCHEDULED, provider="late", provider_post_id="lp1")),
                (other, Outcome(DeliveryStatus.POSTED)),
                (key, Outcome(DeliveryStatus.POSTED, url="https://x.test/lp1")),
                (key, Outcome(DeliveryStatus.SCHEDULED)),  # backwards after the POSTED before it
            ],
            owner="run",
            now=NOW,
        )
        assert [r.status for r in results[:3]] == ["scheduled", "posted", "posted"]
        assert results[2].provider_post_id == "lp1" and results[2].url == "https://x.test/lp1"
        assert isinstance(results[3], LedgerRefused) and "cannot move from posted to scheduled" in str(
            results[3]
        )
        assert ledger.get(key) == results[2]

    def test_an_outcome_keeps_what_it_does_not_say_and_releases_the_lease(self, ledger, ns) -> None:
        key = f"{ns}-c/a/twitter"
        ledger.claim(request_for(key), owner="run", lease_seconds=60, now=NOW)
        ledger.note_attempt([key], owner="run", provider="late:owner", post_key="pd_3")
        unknown = Outcome(DeliveryStatus.UNKNOWN, provider="late", provider_post_id="lp1", error="timeout")
        ledger.record(key, unknown, owner="run", now=NOW + timedelta(seconds=1))
        found = Outcome(DeliveryStatus.POSTED, platform_post_id="tw-1", url="https://x.test/tw-1")
        record = ledger.record(key, found, owner="run", now=NOW + timedelta(seconds=2))
        assert (record.provider, record.provider_post_id, record.post_key) == ("late", "lp1", "pd_3")
        assert (record.platform_post_id, record.url, record.error) == ("tw-1", "https://x.test/tw-1", None)
        assert record.lease_until is None and record.updated_at == NOW + timedelta(seconds=2)

    def test_only_a_scheduled_delivery_is_revised(self, ledger, ns) -> None:
        """An update of a scheduled post at its provider (`apply`) stores its new hashes and time."""
        key = f"{ns}-c/a/twitter"
        at = datetime(2030, 3, 1, 8, 15, tzinfo=UTC)
        later = NOW + timedelta(minutes=5)
        change = {
            "content_hash": "c-2",
            "schedule_hash": "s-2",
            "caption": "ünïcode ✓ new",
            "scheduled_for": at,
        }
        ledger.claim(
            request_for(key, scheduled_for=NOW + timedelta(days=1)), owner="run", lease_seconds=60, now=NOW
        )
        with pytest.raises(LedgerRefused, match=f"cannot revise {key}: it is not scheduled"):
            ledger.revise(key, **change, now=later)  # claimed, not yet scheduled
        scheduled = Outcome(
            DeliveryStatus.SCHEDULED, provider="late", provider_post_id="lp7", post_key="pd_7"
        )
        ledger.record(key, scheduled, owner="run", now=NOW)

        revised = ledger.revise(key, **change, now=later)
        assert (revised.content_hash, revised.schedule_hash, revised.caption) == (
            "c-2",
            "s-2",
            "ünïcode ✓ new",
        )
        assert revised.scheduled_for == at and revised.updated_at == later and revised.created_at == NOW
        assert (revised.status, revised.provider, revised.provider_post_id, revised.post_key) == (
            "scheduled",
            "late",
            "lp7",
            "pd_7",
        )
        assert ledger.get(key) == revised

        ledger.record(key, Outcome(DeliveryStatus.POSTED, url="https://x.test/lp7"), owner=None, now=later)
        with pytest.raises(LedgerRefused, match="it is not scheduled"):
            ledger.revise(key, **{**change, "caption": "too late"}, now=later + timedelta(minutes=1))
        assert ledger.get(key).caption == "ünïcode ✓ new" and ledger.get(key).status == "posted"
        with pytest.raises(LedgerRefused, match="it is not scheduled"):
            ledger.revise(f"{ns}-c/a/nothing", **change, now=later)

    def test_deliveries_by_campaign_and_by_status(self, ledger, ns) -> None:
        for i, platform in enumerate(("twitter", "bluesky", "linkedin")):
            ledger.claim(
                request_for(f"{ns}-c/a/{platform}"),
                owner="run",
                lease_seconds=60,
                now=NOW + timedelta(seconds=i),
            )
        ledger.claim(request_for(f"{ns}-other/a/twitter"), owner="run", lease_seconds=60, now=NOW)
        ledger.record(
            f"{ns}-c/a/bluesky", Outcome(DeliveryStatus.FAILED, error="rejected"), owner="run", now=NOW
        )
        assert [d.platform for d in ledger.deliveries(f"{ns}-c")] == ["bluesky", "linkedin", "twitter"]
        failed = [d.key for d in ledger.all_deliveries(status="failed") if d.key.startswith(f"{ns}-")]
        assert failed == [f"{ns}-c/a/bluesky"]
        everything = [d.key for d in ledger.all_deliveries() if d.key.startswith(f"{ns}-")]
        assert everything == [
            f"{ns}-c/a/twitter",
            f"{ns}-other/a/twitter",
            f"{ns}-c/a/bluesky",
            f"{ns}-c/a/linkedin",
        ]

    # --- post history ---------------------------------------------------------------------------

    def test_a_history_row_keeps_the_seed_columns_and_is_never_added_twice(self, ledger, ns, user) -> None:
        post_id = "5f0c6a52-0000-4000-8000-000000000001" if ns == "t" else None
        row = {
            "id": post_id or _uuid(),
            "user_id": user,
            "provider": "postforme",
            "provider_post_id": "sp_1",
            "platforms": ["twitter", "linkedin"],
            "platform_post_ids": {"twitter": "tw1"},
            "platform_post_urls": {"twitter": "https://x.test/tw1"},
            "content": "hello",
            "media_urls": ["https://cdn.test/a.png"],
            "scheduled_for": None,
            "posted_at": "2030-01-01T12:00:05+00:00",
            "status": "posted",
            "error_message": None,
            "campaign": f"{ns}-c",
            "batch_id": "a",
            "post_key": "pd_4",
            "created_at": "2030-01-01T12:00:06+00:00",
        }
        assert ledger.record_social_post(row) == row["id"]
        assert ledger.record_social_post(row) == row["id"]  # a journal replay: same id, no second row
        post = ledger.get_post(row["id"])
        assert post.platforms == ("twitter", "linkedin") and post.media_urls == ("https://cdn.test/a.png",)
        assert post.platform_post_ids == {"twitter": "tw1"} and post.posted_at == NOW + timedelta(seconds=5)
        assert (post.user_id, post.status, post.campaign, post.post_key) == (
            user,
            "posted",
            f"{ns}-c",
            "pd_4",
        )
        assert [p.id for p in ledger.get_post_history(user, campaign=f"{ns}-c")] == [row["id"]]

    def test_a_history_row_without_id_gets_one(self, ledger, ns, user) -> None:
        post_id = ledger.record_social_post({"user_id": user, "status": "failed", "campaign": f"{ns}-c"})
        assert ledger.get_post(post_id).status == "failed"
        assert ledger.get_post("00000000-0000-4000-8000-00000000dead") is None
        assert ledger.get_post("not-an-id") is None

    def test_post_history_filters_and_pages_newest_first(self, ledger, ns, user, other_user) -> None:
        def post(n: int, owner: str, status: str, platforms: list[str], campaign: str) -> str:
            return ledger.record_social_post(
                {
                    "id": _uuid(n) if ns == "t" else _uuid(),
                    "user_id": owner,
                    "status": status,
                    "platforms": platforms,
                    "campaign": f"{ns}-{campaign}",
                    "created_at": (NOW + timedelta(minutes=n)).isoformat(),
                }
            )

        p1 = post(1, user, "posted", ["twitter"], "c")
        p2 = post(2, user, "scheduled", ["linkedin", "twitter"], "c")
        p3 = post(3, user, "failed", ["bluesky"], "d")
        post(4, other_user, "posted", ["twitter"], "c")
        ids = lambda posts: [p.id for p in posts]  # noqa: E731
        assert ids(ledger.get_post_history(user)) == [p3, p2, p1]
        assert ids(ledger.get_post_history(user, status="posted")) == [p1]
        assert ids(ledger.get_post_history(user, platform="twitter")) == [p2, p1]
        assert ids(ledger.get_post_history(user, campaign=f"{ns}-d")) == [p3]
        assert ids(ledger.get_post_history(user, since=NOW + timedelta(minutes=2))) == [p3, p2]
        assert ids(ledger.get_post_history(user, limit=1, offset=1)) == [p2]
        assert ids(ledger.get_post_history(user, limit=2, offset=3)) == []
        with pytest.raises(LedgerRefused, match="history pages"):
            ledger.get_post_history(user, limit=0)

    # --- media cache and runs -------------------------------------------------------------------

    def test_media_urls_are_cached_per_file_and_provider(self, ledger, ns) -> None:
        digest = (ns.encode().hex() + "0" * 64)[:64]
        assert ledger.cached_media_url(digest, "late:global") is None
        ledger.cache_media_url(digest, "late:global", "https://cdn.test/1.png")
        ledger.cache_media_url(digest, "late:global", "https://cdn.test/2.png")  # a re-upload replaces it
        assert ledger.cached_media_url(digest, "late:global") == "https://cdn.test/2.png"
        assert ledger.cached_media_url(digest, "postforme:global") is None

    def test_an_account_list_is_kept_per_scope_until_too_old_or_forgotten(self, ledger, ns) -> None:
        scope, other = f"late:{ns}-key-1@http://late.test", f"postforme:{ns}-key-1@http://pfm.test"
        accounts = [
            {
                "id": "acc-1",
                "platform": "twitter",
                "username": "north",
                "profile_id": "p1",
                "external_id": None,
            },
            {"id": "acc-2", "platform": "bluesky", "username": "", "profile_id": None, "external_id": "e2"},
        ]
        recent = NOW - timedelta(minutes=15)
        assert ledger.cached_accounts(scope, listed_after=recent) is None
        ledger.cache_accounts(scope, accounts[:1], now=NOW - timedelta(minutes=20))
        assert ledger.cached_accounts(scope, listed_after=recent) is None  # listed too long ago
        assert ledger.cached_accounts(scope, listed_after=NOW - timedelta(hours=1)) == accounts[:1]
        ledger.cache_accounts(scope, accounts, now=NOW)  # a new listing replaces the old one
        assert ledger.cached_accounts(scope, listed_after=recent) == accounts
        assert ledger.cached_accounts(other, listed_after=recent) is None
        ledger.forget_accounts(scope)
        assert ledger.cached_accounts(scope, listed_after=NOW - timedelta(days=1)) is None
        ledger.forget_accounts(scope)  # forgetting what is not there is no error

    def test_an_account_change_at_a_provider_drops_every_list_there(self, ledger, ns) -> None:
        late_1, late_2 = f"late:{ns}-key-1@http://late.test", f"late:{ns}-key-2@http://late.test"
        elsewhere = [f"postforme:{ns}-key-1@http://pfm.test", f"latex:{ns}-key-1@http://late.test"]
        for scope in (late_1, late_2, *elsewhere):
            ledger.cache_accounts(scope, [], now=NOW)
        ledger.forget_accounts_at("late")
        assert ledger.cached_accounts(late_1, listed_after=NOW - timedelta(days=1)) is None
        assert ledger.cached_accounts(late_2, listed_after=NOW - timedelta(days=1)) is None
        for scope in elsewhere:
            assert ledger.cached_accounts(scope, listed_after=NOW - timedelta(days=1)) == []
            ledger.forget_accounts(scope)

    def test_campaign_runs_start_and_finish_once(self, ledger, ns, user) -> None:
        run_id = ledger.start_campaign_run(f"{ns}-c", flow_run_id="fr-1", user_id=user, now=NOW)
        ledger.finish_campaign_run(
            run_id, status="completed", summary={"posted": 2}, now=NOW + timedelta(minutes=1)
        )
        with pytest.raises(LedgerRefused, match="is not running"):
            ledger.finish_campaign_run(run_id, status="failed", summary={}, now=NOW + timedelta(minutes=2))
        [run] = ledger.campaign_runs(f"{ns}-c")
        assert (run.id, run.status, run.summary, run.flow_run_id, run.user_id) == (
            run_id,
            "completed",
            {"posted": 2},
            "fr-1",
            user,
        )
        assert run.finished_at == NOW + timedelta(minutes=1)
        assert run.source == RunSource()  # a run started without its source says nothing of one
        assert (run.kind, run.heartbeat_at) == ("publish", NOW)  # its first beat is its start

    def test_a_live_run_beats_and_a_silent_one_is_recorded_crashed_at_its_last_beat(
        self, ledger, ns, user
    ) -> None:
        run_id = ledger.start_campaign_run(f"{ns}-c", flow_run_id="fr-1", user_id=user, now=NOW)
        assert ledger.beat_campaign_run(run_id, now=NOW + timedelta(seconds=20))
        [seen] = ledger.campaign_runs(f"{ns}-c", status="running")
        assert (seen.status, seen.heartbeat_at) == ("running", NOW + timedelta(seconds=20))
        # It beats again after it was read: what was read is stale, and the run is alive.
        assert ledger.beat_campaign_run(run_id, now=NOW + timedelta(seconds=40))
        assert not ledger.crash_campaign_run(seen, error="crashed: silent")
        [silent] = ledger.campaign_runs(f"{ns}-c")
        assert ledger.crash_campaign_run(silent, error="crashed: no heartbeat since 12:00:40")
        [run] = ledger.campaign_runs(f"{ns}-c")
        assert (run.status, run.error) == ("crashed", "crashed: no heartbeat since 12:00:40")
        assert run.finished_at == run.heartbeat_at == NOW + timedelta(seconds=40)  # last alive
        assert ledger.campaign_runs(f"{ns}-c", status="running") == []
        assert not ledger.crash_campaign_run(run, error="again")  # once
        assert not ledger.beat_campaign_run(run_id, now=NOW + timedelta(minutes=1))  # no beat revives it
        # Its owner was alive after all (a long ledger outage stopped its beats): its own end wins.
        ledger.finish_campaign_run(
            run_id, status="completed", summary={"posted": 1}, now=NOW + timedelta(minutes=2)
        )
        [ended] = ledger.campaign_runs(f"{ns}-c", status="completed")
        assert (ended.status, ended.error, ended.finished_at) == (
            "completed",
            None,
            NOW + timedelta(minutes=2),
        )
        with pytest.raises(LedgerRefused, match="is not running"):
            ledger.finish_campaign_run(run_id, status="failed", summary={}, now=NOW + timedelta(minutes=3))

    def test_a_run_has_a_kind(self, ledger, ns, user) -> None:
        kinds = ("post", "retry", "cancel")
        for n, kind in enumerate(kinds):
            ledger.start_campaign_run(
                f"{ns}-c", flow_run_id=None, user_id=user, now=NOW + timedelta(seconds=n), kind=kind
            )
        assert [r.kind for r in ledger.campaign_runs(f"{ns}-c")] == list(reversed(kinds))
        with pytest.raises(LedgerRefused, match="unknown run kind 'deploy'"):
            ledger.start_campaign_run(f"{ns}-c", flow_run_id=None, user_id=user, now=NOW, kind="deploy")

    def test_a_run_keeps_what_it_published_and_is_found_by_a_commit_prefix(self, ledger, ns, user) -> None:
        source = RunSource(
            commit_sha="3f2c9a1b" + "0" * 32,
            dirty=True,
            campaign_path="campaigns/launch.yaml",
            content_hash="c" * 64,
            plan_hash="p" * 64,
        )
        first = ledger.start_campaign_run(f"{ns}-c", flow_run_id=None, user_id=user, now=NOW, source=source)
        second = ledger.start_campaign_run(
            f"{ns}-c", flow_run_id="fr-2", user_id=user, now=NOW + timedelta(minutes=1)
        )
        assert [r.id for r in ledger.campaign_runs(f"{ns}-c")] == [second, first]  # newest first
        [run] = ledger.campaign_runs(f"{ns}-c", commit="3F2C9A")
        assert (run.id, run.source, run.flow_run_id, run.status) == (first, source, None, "running")
        assert ledger.campaign_runs(f"{ns}-c", commit="3f2c9a1c") == []
        with pytest.raises(LedgerRefused, match="hex digits"):
            ledger.campaign_runs(commit="3f2c%")

    def test_a_stamp_names_the_run_and_commit_on_the_owners_deliveries(self, ledger, ns, user) -> None:
        sha = "ab" * 20
        run_id = ledger.start_campaign_run(f"{ns}-c", flow_run_id=None, user_id=user, now=NOW)
        keys = [f"{ns}-c/a/twitter", f"{ns}-c/a/bluesky#1"]
        ledger.claim_many([request_for(k) for k in keys], owner="run-1", lease_seconds=60, now=NOW)
        ledger.claim(request_for(f"{ns}-c/b/twitter"), owner="run-2", lease_seconds=60, now=NOW)
        every = [*keys, f"{ns}-c/b/twitter"]
        assert ledger.stamp_run(every, owner="run-1", run_id=run_id, commit_sha=sha) == sorted(keys)
        for key in keys:
            assert (ledger.get(key).run_id, ledger.get(key).commit_sha) == (run_id, sha)
        assert ledger.get(f"{ns}-c/b/twitter").run_id is None  # another run's claim
        posted = ledger.record(keys[0], Outcome(DeliveryStatus.POSTED), owner="run-1", now=NOW)
        assert (posted.run_id, posted.commit_sha) == (run_id, sha)  # the outcome keeps who sent it
        found = ledger.find_deliveries(DeliveryQuery(commit=sha[:7]))
        assert sorted(r.key for r in found) == sorted(keys)
        assert ledger.find_deliveries(DeliveryQuery(commit="abc")) == []
        assert ledger.stamp_run([], owner=None, run_id=run_id, commit_sha=None) == []
        later = ledger.start_campaign_run(f"{ns}-c", flow_run_id=None, user_id=user, now=NOW)
        assert ledger.stamp_run([keys[0]], owner=None, run_id=later, commit_sha=None) == [keys[0]]
        assert (ledger.get(keys[0]).run_id, ledger.get(keys[0]).commit_sha) == (later, None)

    def test_only_a_cancelled_delivery_is_kept_cancelled(self, ledger, ns) -> None:
        cancelled, scheduled = f"{ns}-c/a/twitter", f"{ns}-c/a/bluesky"
        ledger.claim_many(
            [request_for(cancelled), request_for(scheduled)], owner="run-1", lease_seconds=60, now=NOW
        )
        ledger.record(cancelled, Outcome(DeliveryStatus.CANCELLED), owner="run-1", now=NOW)
        ledger.record(scheduled, Outcome(DeliveryStatus.SCHEDULED), owner="run-1", now=NOW)
        assert ledger.get(cancelled).keep_cancelled is False
        later = NOW + timedelta(minutes=1)
        assert ledger.keep_cancelled([cancelled, scheduled, f"{ns}-c/z/x"], now=later) == [cancelled]
        kept = ledger.get(cancelled)
        assert (kept.keep_cancelled, kept.status, kept.updated_at) == (True, "cancelled", later)
        assert ledger.get(scheduled).keep_cancelled is False
        assert ledger.keep_cancelled([], now=later) == []

    def test_a_users_cancel_request_is_read_open_then_closed_with_its_result(self, ledger, ns, user) -> None:
        if not isinstance(ledger, CancelRequests):
            pytest.skip("SQLite has no signed-in users to ask: its CLI cancels at once")
        request = request_for(f"{ns}-c/a/twitter", user)
        key = request.key  # the user's key (scoped by owner)
        ledger.claim(request, owner="run-1", lease_seconds=60, now=NOW)
        ledger.record(key, Outcome(DeliveryStatus.SCHEDULED), owner="run-1", now=NOW)
        # What request_delivery_cancel inserts for a signed-in user (tests/ledger/test_cancel_requests_pg.py
        # makes it through the function itself).
        ledger._table("delivery_cancel_requests").insert(
            {"delivery_key": key, "user_id": user, "reason": "wrong date"}
        ).execute()
        (request,) = ledger.open_cancel_requests()
        assert (request.delivery_key, request.user_id, request.reason) == (key, user, "wrong date")
        ledger.close_cancel_request(request.id, result="cancelled", now=NOW)
        assert ledger.open_cancel_requests() == []

    # --- credential rows (the store's encryption is tested in test_credentials.py) --------------

    def test_credential_rows_are_kept_per_user_and_provider(self, ledger, user, other_user) -> None:
        ledger.upsert_credential_row(user, "postforme", "gAAAAABtoken-0000001", ["twitter"], NOW)
        ledger.upsert_credential_row(user, "late", "gAAAAABtoken-0000002", [], NOW)
        ledger.upsert_credential_row(other_user, "late", "gAAAAABtoken-0000003", [], NOW)
        ledger.upsert_credential_row(
            user, "postforme", "gAAAAABtoken-0000004", ["bluesky"], NOW + timedelta(seconds=1)
        )
        row = ledger.credential_row(user, "postforme")
        assert (row["encrypted_api_key"], _list(row["connected_platforms"])) == (
            "gAAAAABtoken-0000004",
            ["bluesky"],
        )
        assert [r["provider"] for r in ledger.credential_rows(user)] == ["late", "postforme"]
        assert not ledger.update_credential_row(
            user, "late", now=NOW, token="gAAAAABtoken-0000009", expect_token="gAAAAABtoken-stale00"
        )
        assert ledger.update_credential_row(
            user, "late", now=NOW, token="gAAAAABtoken-0000005", expect_token="gAAAAABtoken-0000002"
        )
        assert ledger.update_credential_row(user, "late", now=NOW, platforms=["threads"])
        row = ledger.credential_row(user, "late")
        assert (row["encrypted_api_key"], _list(row["connected_platforms"])) == (
            "gAAAAABtoken-0000005",
            ["threads"],
        )
        assert ledger.delete_credential_row(user, "late") and not ledger.delete_credential_row(user, "late")
        assert ledger.credential_row(user, "late") is None
        assert ledger.credential_row(other_user, "late")["encrypted_api_key"] == "gAAAAABtoken-0000003"


def _list(value) -> list[str]:
    import json

    return json.loads(value) if isinstance(value, str) else list(value)


def _uuid(n: int | None = None) -> str:
    import uuid

    return str(uuid.uuid4()) if n is None else f"5f0c6a52-0000-4000-8000-{n:012d}"


class TestLedgerContract(LedgerContract):
    pass


def test_the_replay_refuses_a_request_that_differs_from_the_recording(tmp_path: Path) -> None:
    """The recorded backend is only worth something if a changed request fails it."""
    import json

    exchanges = json.loads((RECORDED / "test_a_retried_run_takes_its_own_claim_back.json").read_text())
    exchanges[0]["request"]["body"]["p_lease_seconds"] = 601.0  # what a changed backend would send
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(exchanges))
    replayer = Replayer(path, SERVICE_KEY)
    ledger = supabase_over(replayer)
    with pytest.raises(AssertionError, match="not recorded"):
        ledger.claim(request_for("t-c/a/twitter"), owner="run", lease_seconds=600, now=NOW)
    with pytest.raises(AssertionError, match="never sent"):
        replayer.assert_done()


# --- what only the Supabase backend has to say ------------------------------------------------------


def canned(status: int, body: object):
    return lambda request: httpx.Response(status, json=body)


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("handler", "error", "message"),
    [
        (refuse_connection, "LedgerUnavailable", "supabase.test is unreachable"),
        (
            canned(503, {"code": "PGRST001", "message": "Database client error"}),
            "LedgerUnavailable",
            "unavailable",
        ),
        (canned(502, "<html>bad gateway</html>"), "LedgerUnavailable", "unavailable"),
        (canned(500, {"code": "40P01", "message": "deadlock detected"}), "LedgerUnavailable", "deadlock"),
        (
            canned(409, {"code": "40001", "message": "could not serialize access"}),
            "LedgerUnavailable",
            "serialize",
        ),
        (canned(401, {"message": "Invalid API key"}), "LedgerError", "check SUPABASE_SECRET_KEY"),
        (
            canned(404, {"code": "PGRST205", "message": "no table deliveries"}),
            "LedgerError",
            "apply supabase/migrations",
        ),
        (
            canned(400, {"code": "P0001", "message": "cannot record x: it was never claimed"}),
            "LedgerRefused",
            "never",
        ),
    ],
    ids=[
        "no-connection",
        "no-database",
        "gateway",
        "deadlock",
        "serialization",
        "wrong-key",
        "not-migrated",
        "refused",
    ],
)
def test_supabase_failures_say_whether_to_retry(handler, error: str, message: str) -> None:
    with pytest.raises(Exception, match=message) as caught:
        supabase_over(handler).get("c/a/twitter")
    assert type(caught.value).__name__ == error and SERVICE_KEY not in str(caught.value)


def test_supabase_names_a_user_id_that_is_not_a_uuid_before_sending_anything() -> None:
    ledger = supabase_over(lambda request: pytest.fail(f"sent {request.url}"))
    with pytest.raises(LedgerRefused, match="'acme' is not a Supabase user id"):
        ledger.claim(request_for("c/a/twitter", "acme"), owner="run", lease_seconds=60, now=NOW)


def test_supabase_checks_every_user_id_of_a_batch_before_sending_anything() -> None:
    ledger = supabase_over(lambda request: pytest.fail(f"sent {request.url}"))
    batch = [request_for("c/a/twitter", USER), request_for("c/a/linkedin", "acme")]
    with pytest.raises(LedgerRefused, match="'acme' is not a Supabase user id"):
        ledger.claim_many(batch, owner="run", lease_seconds=60, now=NOW)


def test_an_empty_supabase_batch_sends_nothing() -> None:
    ledger = supabase_over(lambda request: pytest.fail(f"sent {request.url}"))
    assert ledger.claim_many([], owner="run", lease_seconds=60, now=NOW) == []
    assert ledger.record_many([], owner="run", now=NOW) == []


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (refuse_connection, LedgerUnavailable),
        (canned(503, {"code": "PGRST001", "message": "Database client error"}), LedgerUnavailable),
        (canned(404, {"code": "PGRST202", "message": "no function record_delivery_outcomes"}), LedgerError),
        (canned(200, [{"delivery": None, "error": "x", "code": "P0001"}]), LedgerError),  # 1 answer for 2
    ],
    ids=["no-connection", "no-database", "not-migrated", "miscounted"],
)
def test_a_supabase_batch_of_outcomes_that_fails_as_a_whole_is_that_error_for_every_item(
    handler, error: type[LedgerError]
) -> None:
    outcomes = [
        ("c/a/twitter", Outcome(DeliveryStatus.POSTED)),
        ("c/a/linkedin", Outcome(DeliveryStatus.FAILED)),
    ]
    results = supabase_over(handler).record_many(outcomes, owner="run", now=NOW)  # never raises
    assert len(results) == 2 and results[0] is results[1]
    assert type(results[0]) is error and SERVICE_KEY not in str(results[0])


def test_open_ledger_chooses_the_backend_from_the_environment(tmp_path: Path) -> None:
    from postdeck.errors import LedgerError
    from postdeck.ledger import open_ledger
    from postdeck.ledger.journal import JournaledLedger

    local = open_ledger({}, path=tmp_path / "l.db")
    assert isinstance(local, JournaledLedger) and isinstance(local.inner, SqliteLedger)
    remote = open_ledger(
        {"SUPABASE_URL": "https://p.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k"}, journal=False
    )
    assert isinstance(remote, SupabaseLedger) and remote.ident == "supabase:https://p.supabase.co"
    with pytest.raises(LedgerError, match="SUPABASE_SECRET_KEY is not"):
        open_ledger({"SUPABASE_URL": "https://p.supabase.co"})


def test_a_sqlite_ledger_from_an_earlier_version_gains_the_new_table_and_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # media_uploads as the first release created it
        conn.execute(
            "CREATE TABLE media_uploads (sha256 TEXT NOT NULL, provider TEXT NOT NULL, media_url TEXT NOT NULL,"
            " created_at TEXT NOT NULL, PRIMARY KEY (sha256, provider))"
        )
        conn.execute(
            "INSERT INTO media_uploads VALUES ('ab', 'late:global', 'https://m.test/1', '2030-01-01')"
        )
        conn.execute(
            "CREATE TABLE campaign_runs (id TEXT PRIMARY KEY, campaign TEXT NOT NULL,"
            " flow_run_id TEXT, user_id TEXT, status TEXT NOT NULL DEFAULT 'running',"
            " summary TEXT NOT NULL DEFAULT '{}', error TEXT, started_at TEXT NOT NULL,"
            " finished_at TEXT)"
        )
        conn.execute(
            "INSERT INTO campaign_runs (id, campaign, started_at) VALUES ('r1', 'c', '2030-01-01T00:00:00+00:00')"
        )
    ledger = SqliteLedger(path)
    assert ledger.cached_media_url("ab", "late:global") == "https://m.test/1"
    with sqlite3.connect(path) as conn:
        assert "user_id" in {r[1] for r in conn.execute("PRAGMA table_info(media_uploads)")}
    [run] = ledger.campaign_runs()
    assert (run.id, run.source, run.kind, run.heartbeat_at) == ("r1", RunSource(), "publish", None)
    # A run from before heartbeats, still `running`: recorded crashed, it ends at its start.
    assert ledger.crash_campaign_run(run, error="crashed: no heartbeat recorded")
    [crashed] = ledger.campaign_runs()
    assert (crashed.status, crashed.finished_at) == ("crashed", crashed.started_at)


def test_a_sqlite_ledger_whose_status_check_predates_not_sent_is_rebuilt_with_its_rows(
    tmp_path: Path,
) -> None:
    import sqlite3

    from postdeck.ledger import sqlite as sqlite_module

    path = tmp_path / "old.db"
    schema = (Path(sqlite_module.__file__).parent / "sqlite_schema.sql").read_text()
    old = schema.replace(",'not-sent')", ")")
    assert old != schema
    with sqlite3.connect(path) as conn:
        conn.executescript(old)
        conn.execute(
            "INSERT INTO deliveries (key, campaign, batch_id, platform, status, post_key, attempted_providers,"
            " attempts, created_at, updated_at) VALUES"
            " ('c/a/twitter', 'c', 'a', 'twitter', 'unknown', 'pk', 'postforme:global', 1, '2030-01-01', '2030-01-01')"
        )
    ledger = SqliteLedger(path)
    record = ledger.record("c/a/twitter", Outcome(DeliveryStatus.NOT_SENT, error="gone"), owner=None, now=NOW)
    assert (record.status, record.post_key, record.attempted_providers) == (
        "not-sent",
        "pk",
        ("postforme:global",),
    )
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"deliveries_campaign", "deliveries_status"} <= indexes
    SqliteLedger(path)  # opening it again changes nothing
    assert ledger.get("c/a/twitter").status == DeliveryStatus.NOT_SENT
