"""An ad-hoc post (seed 000's create_post, seed 002's post()) as deliveries with stable keys.

The post is written as a one-batch campaign file under the posts folder (`.postdeck/posts/`, or
POSTDECK_POSTS_DIR) and then loaded, validated and rendered by the same code as every campaign: styles,
platform options, caption limits and media checks apply to it too. The file is the post's record: a
retry rebuilds the post from it.

Keys. The campaign is the seed's campaign_id (or `adhoc`); the batch id carries a hash of the post's
identity: the caller's idempotency key, or by default the user, content, media, time, campaign_id,
batch_number and style, plus the day for an immediate post. The same call made again (a retry after a
timeout, a double click) is therefore the same delivery, which the ledger claim sends once. A post
with a user is that user's campaign (`owner`), so its keys are scoped by the user like any owned
campaign's. The platform is the delivery key's last part, so adding a platform later posts only to
the new one.
The file keeps only the platforms asked for now and those already sent: a platform refused earlier
(nothing sent) is dropped, so its errors never block the same post to another platform.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from postdeck.core.keys import DeliveryKey, owner_scope
from postdeck.core.platform import Platform
from postdeck.errors import CampaignErrors, PostdeckError
from postdeck.schemas.deliveries import Delivery
from postdeck.schemas.validation import require_valid
from postdeck.settings import settings

ADHOC_CAMPAIGN = "adhoc"
DEFAULT_POSTS_DIR = Path(".postdeck/posts")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class InvalidPost(PostdeckError):
    """The post breaks a platform's rules (length, media, required options)."""


class IdempotencyConflict(PostdeckError):
    """An idempotency key already names a different post."""


@dataclass(frozen=True)
class AdhocPost:
    content: str
    platforms: tuple[Platform, ...]
    user_id: str | None = None
    media: tuple[str, ...] = ()  # local file paths, or public https URLs (the provider fetches those)
    scheduled_for: datetime | None = None  # aware; None publishes now
    campaign_id: str | None = None
    batch_number: int | None = None
    style: str | None = None
    style_settings: dict[str, Any] = field(default_factory=dict)  # the style's definition (styles.py)
    idempotency_key: str | None = None


def posts_dir(path: Path | str | None = None) -> Path:
    return Path(path or settings().posts_dir)  # DEFAULT_POSTS_DIR when unset


def campaign_name(campaign_id: str | None) -> str:
    """The seed's campaign_id as a campaign name (UUIDs already are one); `adhoc` without one."""
    if not campaign_id:
        return ADHOC_CAMPAIGN
    name = str(campaign_id).strip().lower()
    return name if _SLUG.match(name) else "c-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def spec_path(folder: Path, campaign: str, batch_id: str) -> Path:
    return folder / campaign / f"{batch_id}.yaml"


def post_file(folder: Path, deliveries: list[Delivery]) -> Path | None:
    """The file `prepare` kept the post's deliveries in (what its run names), None without any."""
    return spec_path(folder, deliveries[0].campaign, deliveries[0].batch_id) if deliveries else None


def prepare(
    post: AdhocPost,
    *,
    folder: Path,
    now: datetime | None = None,
    sent: Callable[[list[str]], bool],
) -> list[Delivery]:
    """Write (or reuse) the post's campaign file and return its deliveries, one per asked platform.

    `sent(keys)` says whether the ledger has any of these delivery keys (posting.sent_in(ledger)): a
    file whose post was never sent (validation failed, no account was connected) may be replaced by a
    different post. Required: a default could only guess, and guessing "sent" blocks later posts."""
    if not post.content.strip() and not post.media:
        raise PostdeckError("a post needs text or media")
    if not post.platforms:
        raise PostdeckError("name at least one platform to post to")
    try:
        owner_scope(str(post.user_id) if post.user_id else None)  # it scopes the post's keys
    except ValueError as exc:
        raise InvalidPost(f"the post cannot be sent: {exc}") from None
    now = now or datetime.now(UTC)
    campaign = campaign_name(post.campaign_id)
    home = folder / campaign
    media = [_place(entry, home / "media") for entry in post.media]
    batch_id = _batch_id(post, media, now)
    path = spec_path(folder, campaign, batch_id)
    document = _merge(path, _document(post, campaign, batch_id, media), sent)
    _write(path, document)
    wanted = set(post.platforms)
    try:
        report = require_valid(path)
    except CampaignErrors as exc:
        # The file is ours, not the caller's: say what is wrong with the post, not where in the file.
        problems = "; ".join(e.message + (f" ({e.fix})" if e.fix else "") for e in exc.errors)
        raise InvalidPost(f"the post cannot be sent: {problems}") from None
    return [p.delivery for p in report.prepared if p.delivery.platform in wanted]


def _batch_id(post: AdhocPost, media: list[str], now: datetime) -> str:
    if post.idempotency_key:
        material = json.dumps(["key", post.user_id, post.idempotency_key])
    else:
        when = post.scheduled_for.isoformat() if post.scheduled_for else f"day:{now.date().isoformat()}"
        style = [post.style, post.style_settings] if post.style else None
        material = json.dumps(
            [post.user_id, post.content, media, when, post.campaign_id, post.batch_number, style],
            sort_keys=True,
            default=str,
        )
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    return f"b{post.batch_number}-{digest}" if post.batch_number is not None else f"p-{digest}"


def _document(post: AdhocPost, campaign: str, batch_id: str, media: list[str]) -> dict[str, Any]:
    batch: dict[str, Any] = {"id": batch_id}
    if post.scheduled_for is not None:
        batch["at"] = post.scheduled_for.astimezone(UTC).isoformat()
    # Through a variable: the text is posted as written, never read as a template.
    batch["caption"] = "{{ message }}"
    batch["vars"] = {"message": post.content}
    if media:
        batch["media"] = media
    batch["platforms"] = sorted(p.value for p in post.platforms)
    document: dict[str, Any] = {"name": campaign, "timezone": "UTC"}
    if post.user_id:
        document["owner"] = str(post.user_id)
    if post.style:
        # Campaign style names are slugs; a styles file may say `my_announcement`.
        name = re.sub(r"[^a-z0-9-]+", "-", post.style.lower()).strip("-")[:63] or "style"
        batch["style"] = name
        document["styles"] = {name: post.style_settings}
    document["batches"] = [batch]
    return document


def _identity(document: dict[str, Any]) -> Any:
    """What makes two writes of one batch the same post (its platforms may grow)."""
    batch = {k: v for k, v in document["batches"][0].items() if k != "platforms"}
    return [document.get("owner"), document.get("styles"), batch]


def _merge(path: Path, document: dict[str, Any], sent: Callable[[list[str]], bool]) -> dict[str, Any]:
    if not path.exists():
        return document
    try:
        existing = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return document  # unreadable: this call's version replaces it
    if not isinstance(existing, dict) or not existing.get("batches"):
        return document
    if _identity(existing) != _identity(document):
        batch_id = document["batches"][0]["id"]
        platforms = existing["batches"][0].get("platforms") or []
        if not sent([_key(document, p) for p in platforms]):
            return document  # never sent: nothing to be idempotent about
        raise IdempotencyConflict(
            f"the idempotency key of post {batch_id} was already used for a different post "
            f"(see {path}): use a new key for new content"
        )
    asked = set(document["batches"][0]["platforms"])
    # A platform of an earlier call that was never sent (refused, not connected) does not stay: its
    # errors would refuse this call too. One that was sent stays, so the file still renders it.
    kept = {
        p for p in existing["batches"][0].get("platforms") or [] if p in asked or sent([_key(document, p)])
    }
    document["batches"][0]["platforms"] = sorted(kept | asked)
    return document


def _key(document: dict[str, Any], platform: str) -> str:
    """The delivery key of the post's `platform`, as the campaign code keys it (scoped by its user)."""
    batch_id = document["batches"][0]["id"]
    return str(DeliveryKey(document["name"], batch_id, platform, owner=document.get("owner")))


def _write(path: Path, document: dict[str, Any]) -> None:
    text = "# An ad-hoc post, kept by postdeck as its record (a retry rebuilds the post from it).\n"
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".post-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)  # concurrent writers of one post write the same text


def _place(entry: str, media_dir: Path) -> str:
    """A local file is copied next to the post's file (content-addressed); a URL stays a URL."""
    if "://" in entry:
        return entry
    source = Path(entry).expanduser()
    if not source.is_file():
        raise PostdeckError(f"media file not found: {entry}")
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = media_dir / f"{digest}{source.suffix.lower()}"
    if not target.exists():
        media_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=media_dir, prefix=".media-")
        os.close(fd)
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    return f"media/{target.name}"


__all__ = ["ADHOC_CAMPAIGN", "AdhocPost", "IdempotencyConflict", "campaign_name", "posts_dir", "prepare"]
