"""Delivery, repost and post keys: typed values whose string forms parse back to them."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postdeck.core.keys import (
    DeliveryKey,
    PostKey,
    RepostKey,
    base_batch_id,
    key_owner,
    occurrence_batch_id,
    owner_scope,
    parse_ledger_key,
    same_user,
    scoped_key,
    split_batch_id,
)
from postdeck.core.platform import Platform

part = st.text(
    st.characters(blacklist_characters="/@#~", blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
    min_size=1,
)
scoped_part = part.filter(lambda text: ":" not in text)  # a campaign, an owner: `:` separates them
batch_ids = part | st.builds(occurrence_batch_id, part, st.dates())  # a batch's, or an occurrence's
owners = st.none() | st.uuids().map(str) | scoped_part.filter(lambda text: not _is_uuid(text))
delivery_keys = st.builds(
    DeliveryKey,
    campaign=scoped_part,
    batch_id=batch_ids,
    platform=st.sampled_from([p.value for p in Platform]) | part,
    account=st.none() | part,
    generation=st.integers(min_value=0, max_value=10**6),
    owner=owners,
)


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@given(delivery_keys)
def test_a_delivery_key_parses_back_from_its_string_form(key: DeliveryKey) -> None:
    assert DeliveryKey.parse(str(key)) == key
    assert parse_ledger_key(str(key)) == key


@given(delivery_keys, st.text("0123456789abcdef", min_size=64, max_size=64))
def test_a_repost_key_parses_back_and_names_its_delivery(key: DeliveryKey, content_hash: str) -> None:
    repost = key.repost(content_hash)
    assert str(repost) == f"{key}~{content_hash[:12]}"
    assert RepostKey.parse(str(repost)) == repost
    assert parse_ledger_key(str(repost)).delivery == key


def test_generation_0_keeps_the_string_form_existing_ledgers_hold() -> None:
    assert str(DeliveryKey("launch", "teaser", Platform.TWITTER)) == "launch/teaser/twitter"
    assert str(DeliveryKey("launch", "teaser", "x", account="brand")) == "launch/teaser/x@brand"
    assert (
        str(DeliveryKey("launch", "teaser", "x", account="brand", generation=2)) == "launch/teaser/x@brand#2"
    )
    assert DeliveryKey("launch", "teaser", Platform.TWITTER) == DeliveryKey.parse("launch/teaser/twitter")


def test_an_occurrence_key_names_its_batch_and_date_and_keeps_an_account_apart() -> None:
    from datetime import date

    key = DeliveryKey("launch", occurrence_batch_id("weekly", date(2026, 12, 14)), "x", account="brand")
    assert str(key) == "launch/weekly@2026-12-14/x@brand"
    assert DeliveryKey.parse(str(key)) == key
    assert (key.batch, key.occurrence, key.account) == ("weekly", date(2026, 12, 14), "brand")
    plain = DeliveryKey.parse("launch/weekly/x@brand")
    assert (plain.batch, plain.occurrence, plain.account) == ("weekly", None, "brand")
    assert split_batch_id("weekly@2026-12-14") == ("weekly", date(2026, 12, 14))
    assert base_batch_id("weekly@2026-12-14") == base_batch_id("weekly") == "weekly"


@given(delivery_keys)
def test_the_batch_of_a_key_is_the_batch_id_without_its_occurrence(key: DeliveryKey) -> None:
    batch, day = split_batch_id(key.batch_id)
    assert key.batch == batch and key.occurrence == day
    assert key.batch_id == (occurrence_batch_id(batch, day) if day else batch)


@pytest.mark.parametrize(
    "text",
    [
        "launch/weekly@2026-02-30/x",
        "launch/weekly@monday/x",
        "launch/weekly@2026-12-14@2026-12-21/x",
        "launch/@2026-12-14/x",
        "launch/teaser",
        "launch/teaser/x/y",
        "launch//x",
        "launch/teaser/x@",
        "launch/teaser/x#0",
        "launch/teaser/x#01",
        "launch/teaser/x#",
        "launch/teaser/x#-1",
        "launch/teaser/x#²",
        "a/b/c~abc",
        ":launch/teaser/x",
        "a:b:launch/teaser/x",
        "alice smith:launch/teaser/x",
    ],
)
def test_what_is_not_a_delivery_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        DeliveryKey.parse(text)


def test_a_part_holding_a_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        DeliveryKey("launch", "tea/ser", "twitter")
    with pytest.raises(ValueError, match="generation"):
        DeliveryKey("launch", "teaser", "twitter", generation=-1)
    with pytest.raises(ValueError):
        RepostKey.parse("launch/teaser/twitter~nothex")


def test_the_post_key_is_todays_hash_of_the_sorted_keys() -> None:
    import hashlib
    import json

    keys = ["c/a/twitter", "c/a/bluesky"]
    expected = "pd_" + hashlib.sha256(json.dumps(["c", "a", sorted(keys)]).encode()).hexdigest()[:32]
    assert str(PostKey.of("c", "a", keys)) == expected
    assert str(PostKey.of("c", "a", [DeliveryKey.parse(k) for k in reversed(keys)])) == expected
    assert PostKey.parse(expected) == PostKey.of("c", "a", keys)
    with pytest.raises(ValueError):
        PostKey.parse("pd_short")


ALICE = "00000000-0000-4000-8000-00000000a11c"


def test_an_owned_campaigns_key_is_scoped_by_its_owner_and_an_unowned_ones_is_as_it_was() -> None:
    key = DeliveryKey("launch", "teaser", "x", account="brand", generation=2, owner=ALICE)
    assert str(key) == f"{ALICE}:launch/teaser/x@brand#2"
    assert DeliveryKey.parse(str(key)) == key and key.owner == ALICE and key.campaign == "launch"
    assert str(key.unscoped) == "launch/teaser/x@brand#2" == str(dataclasses.replace(key, owner=None))
    assert str(key.repost("ab" * 32)) == f"{ALICE}:launch/teaser/x@brand#2~abababababab"
    assert parse_ledger_key(str(key.repost("ab" * 32))).delivery == key
    # Every spelling of one user id is one scope (Supabase stores the canonical one).
    assert DeliveryKey("launch", "teaser", "x", owner=ALICE.upper()) == DeliveryKey(
        "launch", "teaser", "x", owner=ALICE
    )
    assert owner_scope("{" + ALICE.replace("-", "") + "}") == ALICE
    assert owner_scope(None) is owner_scope("") is None and owner_scope("local-user") == "local-user"
    assert DeliveryKey("launch", "teaser", "x", owner="") == DeliveryKey("launch", "teaser", "x")
    assert same_user(ALICE.upper(), ALICE) and not same_user(ALICE, None) and same_user("", None)
    assert (
        key_owner(str(key)) == ALICE and key_owner("launch/teaser/x") is None and key_owner("no key") is None
    )


def test_an_owner_or_a_campaign_no_key_can_hold_is_refused() -> None:
    for owner in ("alice smith", "a/b", "a:b", "me@example.com", "x#1", "x~y"):
        with pytest.raises(ValueError, match="owner must be a user id"):
            DeliveryKey("launch", "teaser", "x", owner=owner)
    with pytest.raises(ValueError, match="campaign"):
        DeliveryKey("a:b", "teaser", "x")


def test_scoped_key_gives_an_older_unscoped_key_its_owner_and_leaves_the_rest() -> None:
    assert scoped_key("launch/teaser/x#1", ALICE) == f"{ALICE}:launch/teaser/x#1"
    assert scoped_key("launch/teaser/x~abababababab", ALICE) == f"{ALICE}:launch/teaser/x~abababababab"
    assert scoped_key(f"{ALICE}:launch/teaser/x", "someone-else") == f"{ALICE}:launch/teaser/x"
    assert scoped_key("launch/teaser/x", None) == "launch/teaser/x"
    assert scoped_key("launch/teaser/x", "alice smith") == "launch/teaser/x"  # no key can hold it
    assert scoped_key("not a key", ALICE) == "not a key"


def test_two_owners_post_keys_differ_and_an_unowned_one_is_as_it_was() -> None:
    mine = [DeliveryKey("c", "a", p, owner=ALICE) for p in ("twitter", "bluesky")]
    theirs = [dataclasses.replace(k, owner="00000000-0000-4000-8000-000000000b0b") for k in mine]
    assert (
        PostKey.of("c", "a", mine)
        != PostKey.of("c", "a", theirs)
        != PostKey.of("c", "a", [k.unscoped for k in mine])
    )
    assert PostKey.of("c", "a", [k.unscoped for k in mine]) == PostKey.of(
        "c", "a", ["c/a/twitter", "c/a/bluesky"]
    )


def test_platform_named_takes_what_people_type() -> None:
    from postdeck.core.platform import Platform, platform_named

    assert platform_named(" X ") is Platform.TWITTER
    assert platform_named("LinkedIn") is Platform.LINKEDIN
    with pytest.raises(ValueError, match=r"unknown platform 'myspace': use one of twitter, .* \(or x\)"):
        platform_named("myspace")
