"""The keys the ledger names deliveries by, as typed values with one string form each.

The ledger stores the string forms; these types are how code builds and reads them, instead of
string surgery.

- DeliveryKey: `[owner:]campaign/batch[@occurrence]/platform[@account][#generation]`. A campaign
  with an `owner` (the user whose provider keys publish it) has its keys scoped by that user id, so
  two users' campaigns of one name, batch ids and platforms are different deliveries; a campaign
  without one keeps the unscoped form every key had so far, so existing ledgers keep matching.
  (There is no workspace or team in postdeck: the owner is the only tenant.) Generation 0 has no
  suffix; generation N ≥ 1 appends `#N`, a later generation of the same delivery that the ledger
  keeps apart from the earlier ones. An occurrence of a repeating batch is its batch id with `@` and
  its local date (`weekly@2026-12-14`): each occurrence is a delivery of its own.
- RepostKey: `<delivery key>~<12 hex of the new content hash>`, the key a changed, already
  published delivery is published again under (`--allow-repost`).
- PostKey: `pd_<32 hex>`, the key one provider post carries: the hash of the campaign, the batch
  and the sorted delivery keys it serves (scoped keys: two users' post keys differ too).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

SEPARATORS = "/@#~"  # no part of a key may hold one, so `parse` can always split it back
SCOPE = ":"  # between the owner and the campaign; neither may hold it (campaign names are slugs)
_PART = re.compile(r"[^/@#~\s]+")
_SCOPED_PART = re.compile(r"[^/@#~:\s]+")  # the owner and the campaign
_BATCH = re.compile(r"([^/@#~\s]+)(?:@(\d{4}-\d{2}-\d{2}))?")  # a batch id, and an occurrence's date
_REPOST = re.compile(r"[0-9a-f]{12}")
_POST = re.compile(r"pd_([0-9a-f]{32})")
REPOST_HASH_LENGTH = 12


def _check_part(what: str, value: str) -> None:
    if not isinstance(value, str) or _PART.fullmatch(value) is None:
        raise ValueError(f"a delivery key's {what} must be non-empty text without {SEPARATORS!r}: {value!r}")


@functools.lru_cache(maxsize=1024)
def owner_scope(owner: str | None) -> str | None:
    """The scope the deliveries of `owner`'s campaigns are keyed under: None without an owner, else
    the user id, a UUID in its canonical form (lower case, as Supabase stores auth.users ids), so
    every spelling of one user is one scope. ValueError for an owner no key can hold."""
    if owner is None or owner == "":
        return None
    if not isinstance(owner, str):
        raise ValueError(f"a campaign's owner must be a user id: {owner!r}")
    try:
        return str(uuid.UUID(owner))
    except ValueError:
        pass
    if _SCOPED_PART.fullmatch(owner) is None:
        raise ValueError(
            f"a campaign's owner must be a user id (a UUID, or text without spaces or any of "
            f"{SEPARATORS + SCOPE!r}): {owner!r}"
        )
    return owner


def same_user(a: str | None, b: str | None) -> bool:
    """Whether two user ids (a record's, a request's) name one user: both none, or one scope."""
    try:
        return owner_scope(a) == owner_scope(b)
    except ValueError:  # one no key could hold (an older ledger's row): only the same text is the same
        return (a or None) == (b or None)


def occurrence_batch_id(batch_id: str, day: date) -> str:
    """The batch id of one occurrence of a repeating batch: `weekly@2026-12-14`."""
    _check_part("batch", batch_id)
    return f"{batch_id}@{day.isoformat()}"


def split_batch_id(text: str) -> tuple[str, date | None]:
    """(the campaign's batch id, the occurrence's date or None) of a delivery's batch id."""
    match = _BATCH.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a batch id (batch or batch@YYYY-MM-DD): {text!r}")
    try:
        return match.group(1), date.fromisoformat(match.group(2)) if match.group(2) else None
    except ValueError:
        raise ValueError(f"not a batch id (no such date): {text!r}") from None


def base_batch_id(text: str) -> str:
    """The campaign's batch id a delivery's batch id belongs to (`weekly@2026-12-14` → `weekly`)."""
    return text.partition("@")[0]


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    campaign: str
    batch_id: str
    platform: str  # a Platform (a str) or its name
    account: str | None = None
    generation: int = 0
    # The campaign's owner (a user id), as owner_scope() spells it; None: a campaign without one.
    owner: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.campaign, str) or _SCOPED_PART.fullmatch(self.campaign) is None:
            raise ValueError(
                f"a delivery key's campaign must be non-empty text without {SEPARATORS + SCOPE!r}: "
                f"{self.campaign!r}"
            )
        if self.owner is not None:
            object.__setattr__(self, "owner", owner_scope(self.owner))  # one spelling per user
        split_batch_id(self.batch_id)  # a batch id, or an occurrence's: `weekly@2026-12-14`
        _check_part("platform", self.platform)
        if self.account is not None:
            _check_part("account", self.account)
        if type(self.generation) is not int or self.generation < 0:
            raise ValueError(f"a delivery key's generation must be an int ≥ 0: {self.generation!r}")

    def __str__(self) -> str:
        text = f"{self.campaign}/{self.batch_id}/{self.platform}"
        if self.owner is not None:
            text = f"{self.owner}{SCOPE}{text}"
        if self.account is not None:
            text += f"@{self.account}"
        return f"{text}#{self.generation}" if self.generation else text

    @classmethod
    def parse(cls, text: str) -> DeliveryKey:
        """The key whose string form is `text`; ValueError for anything else (a repost key too)."""
        rest, hash_mark, generation = text.partition("#")
        if hash_mark and not (generation.isascii() and generation.isdigit() and generation[0] != "0"):
            raise ValueError(f"not a delivery key (generation {generation!r}): {text!r}")
        parts = rest.split(
            "/"
        )  # no part holds a `/`; the batch's `@` is an occurrence's, the platform's an account's
        if len(parts) != 3:
            raise ValueError(f"not a delivery key (campaign/batch/platform): {text!r}")
        scoped, batch_id, rest = parts
        owner, colon, campaign = scoped.rpartition(SCOPE)
        if colon and not owner:
            raise ValueError(f"not a delivery key (an empty owner): {text!r}")
        platform, at, account = rest.partition("@")
        return cls(
            campaign,
            batch_id,
            platform,
            account if at else None,
            int(generation) if hash_mark else 0,
            owner if colon else None,
        )

    @property
    def unscoped(self) -> DeliveryKey:
        """This key without its owner: the form an owned delivery had before keys were scoped."""
        return dataclasses.replace(self, owner=None) if self.owner is not None else self

    @property
    def batch(self) -> str:
        """The campaign's batch id (without an occurrence's date)."""
        return base_batch_id(self.batch_id)

    @property
    def occurrence(self) -> date | None:
        """The local date of this occurrence of a repeating batch, None for a batch that does not repeat."""
        return split_batch_id(self.batch_id)[1]

    @property
    def delivery(self) -> DeliveryKey:
        """The delivery this key names: itself (a RepostKey answers its original)."""
        return self

    def repost(self, content_hash: str) -> RepostKey:
        """The key this delivery is published again under once its content changed to `content_hash`."""
        return RepostKey(self, content_hash[:REPOST_HASH_LENGTH])


@dataclass(frozen=True, slots=True)
class RepostKey:
    """The repost marker: derived from the new content, so a repost of the same content is claimed once."""

    original: DeliveryKey
    content: str  # the first 12 hex digits of the reposted content's hash

    def __post_init__(self) -> None:
        if not isinstance(self.content, str) or _REPOST.fullmatch(self.content) is None:
            raise ValueError(f"a repost key's content must be 12 hex digits: {self.content!r}")

    def __str__(self) -> str:
        return f"{self.original}~{self.content}"

    @classmethod
    def parse(cls, text: str) -> RepostKey:
        original, tilde, content = text.rpartition("~")
        if not tilde:
            raise ValueError(f"not a repost key: {text!r}")
        return cls(DeliveryKey.parse(original), content)

    @property
    def delivery(self) -> DeliveryKey:
        return self.original


LedgerKey = DeliveryKey | RepostKey


def parse_ledger_key(text: str) -> LedgerKey:
    """A key as the ledger stores it: a delivery's or a repost's."""
    return RepostKey.parse(text) if "~" in text else DeliveryKey.parse(text)


def key_owner(text: str) -> str | None:
    """The owner scope of a ledger key; None for an unscoped key and for text that is not a key."""
    try:
        return parse_ledger_key(text).delivery.owner
    except ValueError:
        return None


def scoped_key(text: str, owner: str | None) -> str:
    """The key a delivery of `owner` has now: an unscoped one (as a ledger or journal written before
    keys were scoped holds it) gets the owner's scope. A key already scoped, a delivery without an
    owner (or one no key can hold), and text that is not a key are returned as they are."""
    try:
        scope = owner_scope(owner)
        key = parse_ledger_key(text)
    except ValueError:
        return text
    if scope is None or key.delivery.owner is not None:
        return text
    if isinstance(key, RepostKey):
        return str(RepostKey(dataclasses.replace(key.original, owner=scope), key.content))
    return str(dataclasses.replace(key, owner=scope))


@dataclass(frozen=True, slots=True)
class PostKey:
    digest: str  # 32 hex digits

    def __post_init__(self) -> None:
        if not isinstance(self.digest, str) or re.fullmatch(r"[0-9a-f]{32}", self.digest) is None:
            raise ValueError(f"a post key's digest must be 32 hex digits: {self.digest!r}")

    def __str__(self) -> str:
        return f"pd_{self.digest}"

    @classmethod
    def of(cls, campaign: str, batch_id: str, keys: Iterable[LedgerKey | str]) -> PostKey:
        """The post key of the deliveries `keys` of one batch (their order does not matter)."""
        material = json.dumps([campaign, batch_id, sorted(str(k) for k in keys)])
        return cls(hashlib.sha256(material.encode()).hexdigest()[:32])

    @classmethod
    def parse(cls, text: str) -> PostKey:
        match = _POST.fullmatch(text)
        if match is None:
            raise ValueError(f"not a post key (pd_ and 32 hex digits): {text!r}")
        return cls(match.group(1))
