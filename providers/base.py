"""What every posting provider offers postdeck, in postdeck's own words.

Provider clients translate between these types and their vendor's wire format. Nothing above this
layer sees a vendor's platform names, id formats or JSON shapes: provider and account ids stay in
these objects and the ledger, never in the campaign language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from postdeck.core.platform import Platform

if TYPE_CHECKING:  # annotations only: the provider clients never load the campaign schemas for them
    from postdeck.schemas.delivery import ThreadPart
    from postdeck.schemas.media import MediaRef


class TargetStatus(StrEnum):
    """A provider's verdict on one platform target of a post."""

    POSTED = "posted"  # live on the platform
    SCHEDULED = "scheduled"  # accepted, waiting for its time
    PENDING = "pending"  # accepted, publishing now (PostForMe `processing`): ask again later
    FAILED = "failed"  # the platform or provider refused it


@dataclass(frozen=True)
class Account:
    """A social account connected at one provider."""

    provider: str
    id: str  # the provider's id (PostForMe `spc_…`, LATE 24-hex)
    platform: Platform
    username: str
    connected: bool = True
    profile_id: str | None = None  # LATE only
    external_id: str | None = None  # PostForMe: the id given when connecting


@dataclass(frozen=True)
class ConnectLink:
    """Where to send a user to connect an account (OAuth), or the account a credential login made."""

    provider: str
    platform: Platform
    url: str
    state: str | None = None


@dataclass(frozen=True)
class ThreadPost:
    """A post of a thread after the target's caption: a reply to the one before, with its own media."""

    caption: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """One platform account a post goes to, with that platform's own caption and options."""

    platform: Platform
    account_id: str
    caption: str
    # Per-platform options in postdeck's vocabulary (e.g. {"title": ..., "privacy": ...});
    # each client maps them to its vendor's fields.
    options: dict = field(default_factory=dict)
    # The posts after the caption when this target is a thread (only providers that can thread get one).
    thread: tuple[ThreadPost, ...] = ()


class TargetSource(Protocol):
    """What a Target is built from: a delivery (schemas.Delivery) or the chain's SendItem."""

    @property
    def platform(self) -> Platform: ...

    @property
    def caption(self) -> str: ...

    @property
    def options(self) -> dict[str, Any]: ...

    @property
    def thread(self) -> Sequence[ThreadPart]: ...


def target_for(
    source: TargetSource,
    accounts: Mapping[Platform, Account],
    media_urls: Callable[[Sequence[MediaRef]], Iterable[str]],
) -> Target:
    """The Target of one delivery at a provider: its platform's account there, and each thread part
    with the URLs that provider fetches the part's media from (creates and updates alike)."""
    account_id = accounts[source.platform].id  # before any upload: an account missing here uploads nothing
    thread = tuple(ThreadPost(part.caption, tuple(media_urls(part.media))) for part in source.thread)
    return Target(source.platform, account_id, source.caption, source.options, thread)


@dataclass(frozen=True)
class PostRequest:
    """One provider post: several deliveries of one batch, sent in a single create."""

    post_key: str  # PostForMe external_id, LATE x-request-id: what a lookup searches for
    caption: str  # the shared caption (targets may override it)
    targets: tuple[Target, ...]
    media_urls: tuple[str, ...] = ()  # URLs the provider can fetch (uploaded to it, or public https)
    scheduled_at: datetime | None = None  # aware; None means publish now
    draft: bool = False  # stored at the provider, never published by itself


@dataclass(frozen=True)
class TargetResult:
    platform: Platform
    account_id: str
    status: TargetStatus
    platform_post_id: str | None = None
    url: str | None = None
    error: str | None = None
    # A failure another provider could fix (the account's connection at this provider, its quota):
    # nothing was attempted on the platform, so sending it elsewhere cannot duplicate it.
    portable: bool = False
    # The words the provider holds for this target (its own caption, or the post's), when it says:
    # read from a stored post (get, list), so `plan --refresh` sees an edit made at its dashboard.
    caption: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PostOutcome:
    """What a provider says about one of its posts."""

    provider: str
    provider_post_id: str
    results: tuple[TargetResult, ...]
    scheduled_at: datetime | None = None
    post_key: str | None = None  # the key it was created with, when the provider echoes it
    status: str | None = None  # the provider's own word for the whole post (for logs)
    # The provider's reply as it came, unknown fields included (parsing is lenient), minus platform tokens.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def result_for(self, platform: Platform) -> TargetResult | None:
        return next((r for r in self.results if r.platform == platform), None)


@dataclass(frozen=True)
class PostPage:
    """One page of a provider's whole post list, newest created first."""

    posts: tuple[PostOutcome, ...]
    more: bool  # the list goes on past this page


@runtime_checkable
class Provider(Protocol):
    """A posting provider client. Every method raises a providers.errors.ProviderError subclass.

    No method retries anything: whether a failed call may be repeated is the chain's decision."""

    @property
    def name(self) -> str:
        """The provider's name (postforme, late): a class attribute of the clients, read-only here."""
        ...

    def accounts(
        self, *, platform: Platform | None = None, include_disconnected: bool = False
    ) -> list[Account]:
        """Accounts at this provider: connected ones unless include_disconnected, optionally of one platform."""
        ...

    def connect_url(
        self, platform: Platform, *, redirect_url: str | None = None, external_id: str | None = None
    ) -> ConnectLink:
        """Where to send a user to connect an account of this platform (OAuth)."""
        ...

    def connect_bluesky(
        self, handle: str, app_password: str, *, redirect_url: str | None = None
    ) -> Account | ConnectLink:
        """Connect a Bluesky account with an app password: the account, or the link that completes it."""
        ...

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        """Upload media (presigned URL, then PUT) once per content; return the URL to use in a post."""
        ...

    def create(self, request: PostRequest) -> PostOutcome:
        """Create one post carrying request.post_key. Never retried by the client itself."""
        ...

    def lookup(self, post_key: str, *, since: datetime | None = None) -> PostOutcome | None:
        """Find the post created with this post key, or None if the provider has none.

        `since`: no attempt to create it was made before then (a provider that searches its list may
        stop there). Raises ProviderLookupIncomplete when it could not search far enough to tell."""
        ...

    def get(self, provider_post_id: str) -> PostOutcome:
        """Read one post and its per-platform outcome."""
        ...

    def list_posts(self, *, status: str | None = None, limit: int = 100) -> list[PostOutcome]:
        """The most recent posts, newest first (status in the provider's own words)."""
        ...

    def list_page(self, page: int) -> PostPage:
        """Page `page` (0 is the newest) of all its posts, newest created first, in its own page size."""
        ...

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        """Replace a scheduled (or draft) post's content, targets and time."""
        ...

    def cancel(self, provider_post_id: str) -> None:
        """Delete a scheduled or draft post."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SupportsRetry(Protocol):
    """Providers that can re-run a failed post themselves (LATE). PostForMe cannot: create anew."""

    def retry(self, provider_post_id: str) -> PostOutcome: ...


_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "accessToken", "refreshToken", "token"})


def without_tokens(value: Any) -> Any:
    """A provider reply with platform tokens removed (PostForMe returns them inside posts and accounts)."""
    if isinstance(value, dict):
        return {k: without_tokens(v) for k, v in value.items() if k not in _TOKEN_FIELDS}
    if isinstance(value, list):
        return [without_tokens(v) for v in value]
    return value
