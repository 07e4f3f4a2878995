"""`postdeck resolve` (issue 18): a person settles an unknown delivery, posted or not posted, and the
ledger keeps who decided and why; a not-posted one is sent by the next publish, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postdeck.core.keys import DeliveryKey
from postdeck.core.outcome import Outcome
from postdeck.core.platform import Platform
from postdeck.core.status import DeliveryStatus
from postdeck.engine.publisher import claim_request, publish_batch
from postdeck.ledger.factory import open_ledger
from postdeck.providers.chain import Chain, Link
from postdeck.schemas.deliveries import Delivery
from tests.fakes import FakeProvider
from tests.service.test_service_harness import run_cli

KEY = str(DeliveryKey("c", "a", Platform.TWITTER))


@pytest.fixture
def git_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.test\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)


def delivery() -> Delivery:
    return Delivery(KEY, "c", "a", Platform.TWITTER, "hello", (), None)


def unknown_delivery() -> None:
    ledger = open_ledger()
    ledger.claim(claim_request(delivery()), owner="run-1", lease_seconds=60, now=datetime.now(UTC))
    ledger.note_attempt([KEY], owner="run-1", provider="first:g", post_key="pk-1")
    ledger.record(
        KEY,
        Outcome(DeliveryStatus.UNKNOWN, provider="first", error="cannot tell"),
        owner="run-1",
        now=datetime.now(UTC),
    )


@pytest.mark.usefixtures("git_user")
def test_resolved_posted_keeps_the_url_and_who_and_why(capsys) -> None:
    unknown_delivery()
    result = run_cli(
        capsys, "resolve", KEY, "--posted", "https://twitter.test/p/1", "--reason", "on the profile"
    )
    assert result.code == 0, result.err
    record = open_ledger().get(KEY)
    assert (record.status, record.url) == (DeliveryStatus.POSTED, "https://twitter.test/p/1")
    assert "resolved by Ada Lovelace <ada@example.test>" in record.error and "on the profile" in record.error
    # Once resolved, it is not resolved again.
    again = run_cli(capsys, "resolve", KEY, "--not-posted", "--reason", "changed my mind")
    assert again.code == 1 and "is posted, not unknown" in again.err
    assert open_ledger().get(KEY).status == DeliveryStatus.POSTED


def test_resolved_not_posted_is_sent_by_the_next_publish_after_one_more_lookup(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "none"))  # no git identity: $USER decides
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("LOGNAME", "bob")
    monkeypatch.setenv("USER", "bob")
    monkeypatch.chdir(tmp_path)
    unknown_delivery()
    result = run_cli(capsys, "resolve", KEY, "--not-posted", "--reason", "not on the profile")
    assert result.code == 0, result.err
    record = open_ledger().get(KEY)
    assert record.status == DeliveryStatus.NOT_SENT
    assert "resolved by bob" in record.error and "not on the profile" in record.error

    provider = FakeProvider("first")
    (report,) = publish_batch(
        [delivery()], ledger=open_ledger(), chain=Chain([Link("first:g", provider)]), owner="run-2"
    )
    assert (report.action, report.status) == ("sent", "posted")
    assert provider.lookups == ["pk-1"] and len(provider.creates) == 1


@pytest.mark.usefixtures("git_user")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say which: --posted URL or --not-posted"),
        (["--posted", "https://x.test/1", "--not-posted", "--reason", "r"], "say which"),
        (["--not-posted"], "--not-posted needs --reason"),
        (["--posted", "javascript:alert(1)"], "wants the post's address"),
    ],
)
def test_resolve_says_what_it_needs(capsys, args: list[str], message: str) -> None:
    unknown_delivery()
    result = run_cli(capsys, "resolve", KEY, *args)
    assert result.code == 1 and message in result.err
    assert open_ledger().get(KEY).status == DeliveryStatus.UNKNOWN


@pytest.mark.usefixtures("git_user")
def test_resolving_a_key_the_ledger_does_not_have_says_so(capsys) -> None:
    result = run_cli(capsys, "resolve", "c/none/twitter", "--not-posted", "--reason", "x")
    assert result.code == 1 and "no delivery c/none/twitter in the ledger" in result.err
