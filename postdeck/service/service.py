"""SocialPostingService: seed 000's API (method names and meaning kept), on postdeck's spine.

    service = SocialPostingService()            # or SocialPostingService(sandbox=True): the simulators
    service.init(supabase_client)               # None: the configured ledger (open_ledger)
    result = service.create_post(user_id="…", content="Hello", platforms=["twitter", "linkedin"])
    result.success, result.post_id, result.platform_post_urls

As in the seed, no method raises for provider or database trouble: posting methods return a
PostResult with `success=False` and the error, others return None / False / an empty list and log.
Unlike the seed, every post is claimed in the ledger first (postdeck.engine.publisher), exactly like a
campaign's deliveries: the same call made twice posts once. The seed 002 operations (accounts by
platform/name/activity, schedules list/retry/delete) are methods here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from postdeck.chain_factory import credential_store
from postdeck.errors import PostdeckError
from postdeck.ledger.credentials import CredentialStore, StoredCredentials
from postdeck.ledger.queries import DeliveryQuery
from postdeck.ledger.records import DeliveryRecord, PostRecord
from postdeck.providers.chain import Chain
from postdeck.providers.errors import ProviderError, every_failure
from postdeck.service import arguments, cancelling, retrying, schedules
from postdeck.service.accounts import list_accounts
from postdeck.service.adhoc import AdhocPost, post_file, posts_dir, prepare
from postdeck.service.calendar import calendar_caption
from postdeck.service.campaign_batches import batch_deliveries, campaigns_dir, find_campaign
from postdeck.service.chains import service_chain
from postdeck.service.never_raises import failure, never_raises
from postdeck.service.posting import new_owner, send, sent_in
from postdeck.service.results import AccountInfo, PostResult
from postdeck.service.selection import Selection, Tracker, select
from postdeck.service.styles import get_style
from postdeck.timeparse import parse_when, require_future


class SocialPostingService:
    def __init__(
        self,
        *,
        sandbox: bool = False,
        posts_folder: Path | str | None = None,
        campaigns_folder: Path | str | None = None,
        styles_file: Path | str | None = None,
    ) -> None:
        self.sandbox = sandbox  # the simulators, only when asked: never a fallback
        self.posts_folder = posts_dir(posts_folder)
        self.campaigns_folder = campaigns_dir(campaigns_folder)
        self.styles_file = styles_file
        self._ledger: Any = None
        self._supabase: Any = None

    # --- setup ------------------------------------------------------------------------------------

    def init(self, supabase_client: Any = None) -> None:
        """Use the ledger on this supabase-py client, or (None) the configured one (open_ledger)."""
        from postdeck.ledger import flush_journal, open_ledger

        if supabase_client is None:
            self._ledger = open_ledger()
        else:
            from postdeck.ledger.journal import Journal, JournaledLedger
            from postdeck.ledger.supabase import SupabaseLedger

            self._ledger = JournaledLedger(SupabaseLedger.from_client(supabase_client), Journal())
        self._supabase = supabase_client
        flush_journal(self._ledger)  # outcomes an earlier outage kept locally go in first

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            self.init(None)
        return self._ledger

    def _store(self) -> CredentialStore:
        return credential_store(self.ledger)

    @contextmanager
    def chain(self, user_id: str | None) -> Iterator[Chain]:
        """The providers a user's posts go through: their keys, then the global ones (or the sandbox)."""
        with service_chain(user_id, self.ledger, sandbox=self.sandbox) as chain:
            yield chain

    # --- credentials ------------------------------------------------------------------------------

    @never_raises(lambda exc: False)
    def save_credentials(
        self, user_id: str, provider: str, api_key: str, connected_platforms: Iterable[str] | None = None
    ) -> bool:
        self._store().save(user_id, provider, api_key, connected_platforms)
        return True

    @never_raises(lambda exc: None)
    def get_credentials(self, user_id: str, provider: str) -> StoredCredentials | None:
        """The user's key for a provider, decrypted (as a SecretStr: printing it shows no key)."""
        return self._store().get(user_id, provider)

    @never_raises(lambda exc: False)
    def delete_credentials(self, user_id: str, provider: str) -> bool:
        return self._store().delete(user_id, provider)

    @never_raises(lambda exc: {})
    def refresh_connected_platforms(self, user_id: str) -> dict[str, tuple[str, ...]]:
        """Ask each provider the user has a key for which platforms are connected; store and return them."""
        if not self.sandbox:
            return self._store().refresh_connected_platforms(user_id)
        with self.chain(user_id) as chain:
            clients = {link.provider.name: link.provider for link in chain.links}
            return self._store().refresh_connected_platforms(user_id, clients)

    # --- accounts ---------------------------------------------------------------------------------

    @never_raises(lambda exc: None)
    def get_oauth_url(
        self, user_id: str | None, platform: str, redirect_url: str | None = None
    ) -> str | None:
        """Where to send the user to connect an account (the first provider that can say), or None."""
        return self.connect_url(user_id, platform, redirect_url)

    def connect_url(
        self, user_id: str | None, platform: str, redirect_url: str | None = None, provider: str | None = None
    ) -> str:
        """As get_oauth_url, but raises (for the CLI): ProviderError, or PostdeckError naming the cause."""
        target = arguments.platform(platform)
        with self.chain(user_id) as chain:
            errors = []
            for link in chain.links:
                if provider and link.provider.name != provider:
                    continue
                try:
                    return link.provider.connect_url(
                        target, redirect_url=redirect_url, external_id=user_id
                    ).url
                except ProviderError as exc:
                    errors.append(exc)
            if errors:
                raise every_failure(errors)
            raise PostdeckError(f"no {provider} credentials are configured" if provider else "no providers")

    @never_raises(lambda exc: [])
    def get_connected_accounts(self, user_id: str | None) -> list[dict[str, Any]]:
        """The seed's shape: [{"id", "platform", "username"}] (plus "provider"), connected ones only."""
        return [
            {"id": a.id, "platform": a.platform, "username": a.username, "provider": a.provider}
            for a in self.accounts(user_id, active=True)
        ]

    def accounts(
        self,
        user_id: str | None = None,
        *,
        platform: str | None = None,
        name: str | None = None,
        active: bool | None = None,
    ) -> list[AccountInfo]:
        """Seed 002's channels: by platform (get_channels_by_type), name (get_channel_by_name, partial,
        any case) and activity (get_active_channels). Raises PostdeckError when no provider answers."""
        with self.chain(user_id) as chain:
            listing = list_accounts(
                chain, platform=arguments.platform(platform) if platform else None, name=name, active=active
            )
            nobody_answered = len(listing.problems) == len(chain.links)
        if listing.problems and nobody_answered:
            raise PostdeckError("; ".join(f"{k}: {v}" for k, v in listing.problems.items()))
        return listing.accounts

    # --- posting ----------------------------------------------------------------------------------

    @never_raises(failure)
    def create_post(
        self,
        user_id: str | None,
        content: str,
        platforms: Sequence[str] | str,
        media_urls: Sequence[str] | None = None,
        scheduled_for: datetime | str | None = None,
        campaign_id: str | None = None,
        batch_number: int | None = None,
        *,
        idempotency_key: str | None = None,
        style: str | None = None,
    ) -> PostResult:
        """Post now, or at `scheduled_for` (a datetime, naive = UTC; or "30m", "tomorrow at 3pm"...).

        `platforms` may be "all": every platform with a connected account. The same call made again
        is the same post (see service.adhoc for the key); pass `idempotency_key` to say so exactly."""
        return self.post(
            user_id,
            content,
            platforms,
            media_urls,
            parse_when(scheduled_for, utc=True),
            campaign_id,
            batch_number,
            idempotency_key=idempotency_key,
            style=style,
        )

    def post(
        self,
        user_id: str | None,
        content: str,
        platforms: Sequence[str] | str,
        media: Sequence[str] | None = None,
        when: datetime | None = None,
        campaign_id: str | None = None,
        batch_number: int | None = None,
        *,
        idempotency_key: str | None = None,
        style: str | None = None,
    ) -> PostResult:
        """create_post for callers that want errors raised (the CLI): a PostdeckError for what stops the
        post before it is sent; provider outcomes still come back in the PostResult."""
        require_future(when)
        with self.chain(user_id) as chain:
            targets = arguments.targets(platforms, chain)
            post = AdhocPost(
                content=content,
                platforms=targets,
                user_id=user_id,
                media=tuple(media or ()),
                scheduled_for=when,
                campaign_id=campaign_id,
                batch_number=batch_number,
                style=style,
                style_settings=get_style(style, self.styles_file) if style else {},
                idempotency_key=idempotency_key,
            )
            deliveries = prepare(post, folder=self.posts_folder, sent=sent_in(self.ledger))
            return send(
                deliveries,
                ledger=self.ledger,
                chain=chain,
                owner=new_owner(),
                source_file=post_file(self.posts_folder, deliveries),
            )

    @never_raises(failure)
    def publish_batch(
        self,
        user_id: str | None,
        campaign_id: str,
        batch_number: int | str,
        platforms: Sequence[str] | None = None,
        media_urls: Sequence[str] | None = None,
        scheduled_for: datetime | str | None = None,
    ) -> PostResult:
        """One batch of a campaign: a campaign file (path or name; batch by id or number, 1 = first), or
        with a Supabase client the seed's `campaigns.creative_calendar.batches[n].caption`."""
        if self._supabase is not None and not arguments.looks_like_file(campaign_id):
            caption = calendar_caption(self._supabase, campaign_id, int(batch_number))
            return self.post(
                user_id,
                caption,
                list(platforms or ()),
                media_urls,
                parse_when(scheduled_for, utc=True),
                campaign_id,
                int(batch_number),
                # One post per calendar batch, whatever is asked later: publishing it is exactly-once.
                idempotency_key=f"calendar:{campaign_id}:{batch_number}",
            )
        path = find_campaign(campaign_id, [self.campaigns_folder])
        if media_urls or scheduled_for is not None:
            raise PostdeckError(f"a batch of {path} has its own media and time: change them in the file")
        wanted = [arguments.platform(p) for p in platforms] if platforms else None
        deliveries = batch_deliveries(path, batch_number, platforms=wanted)
        owner = deliveries[0].owner if deliveries else None
        if user_id and owner and user_id != owner:
            raise PostdeckError(f"{path} is published with the keys of {owner}, not {user_id}")
        with self.chain(owner or user_id) as chain:
            return send(deliveries, ledger=self.ledger, chain=chain, owner=new_owner(), source_file=path)

    # --- history ----------------------------------------------------------------------------------

    @never_raises(lambda exc: [])
    def get_post_history(
        self, user_id: str | None, limit: int = 50, status: str | None = None
    ) -> list[PostRecord]:
        """The user's posts (one per provider post), newest first; status: posted|scheduled|failed|..."""
        return self.ledger.get_post_history(user_id, status=status, limit=limit)

    @never_raises(lambda exc: None)
    def get_post(self, post_id: str) -> PostRecord | None:
        """A history row by its id, or by the provider's post id (PostResult.post_id)."""
        found = self.ledger.get_post(post_id)
        if found is None:
            rows = self.ledger.posts_by_provider_post_id(post_id)
            found = rows[0] if rows else None
        return found

    # --- seed 002's schedules -------------------------------------------------------------------

    def deliveries(
        self,
        user_id: str | None = None,
        *,
        status: str | Sequence[str] | None = None,
        platform: str | None = None,
        campaign: str | None = None,
        since: datetime | str | None = None,
        ids: Sequence[str] | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> list[DeliveryRecord]:
        """One page of deliveries (one per post and platform), newest first: seed 002's schedules.list."""
        from postdeck.timeparse import parse_since

        query = DeliveryQuery(
            keys=tuple(ids) if ids else None,
            statuses=(status,) if isinstance(status, str) else (tuple(status) if status else None),
            platform=platform,
            campaign=campaign,
            user_id=user_id,
            created_since=parse_since(since) if isinstance(since, str) else since,
        )
        return schedules.list_deliveries(self.ledger, query, page=page, per_page=per_page)

    def retry(
        self, selection: Selection, *, progress: Tracker | None = None
    ) -> list[schedules.ScheduleReport]:
        """Retry failed deliveries (seed 002's schedules.retry): LATE re-runs its post, others are sent
        anew from their file. Each through the credentials of the delivery's owner."""
        return self._per_owner(
            selection,
            progress,
            lambda group, **common: retrying.retry(
                group,
                owner=new_owner("retry"),
                posts=self.posts_folder,
                campaigns=[self.campaigns_folder],
                **common,
            ),
        )

    def cancel(
        self,
        selection: Selection,
        *,
        with_siblings: bool = False,
        progress: Tracker | None = None,
        keep_cancelled: bool = False,
    ) -> list[schedules.ScheduleReport]:
        """Cancel scheduled deliveries (seed 002's schedules.delete) at their provider and in the ledger.

        With keep_cancelled, every selected delivery that ends cancelled (now or before) is pinned so:
        publishing the campaign leaves it cancelled instead of creating it again from the file."""
        reports = self._per_owner(
            selection,
            progress,
            lambda group, **common: cancelling.cancel(group, with_siblings=with_siblings, **common),
        )
        return cancelling.pin(reports, ledger=self.ledger) if keep_cancelled else reports

    def _per_owner(
        self,
        selection: Selection,
        progress: Tracker | None,
        act: Callable[..., list[schedules.ScheduleReport]],
    ) -> list[schedules.ScheduleReport]:
        """The selected deliveries by owner: `act(group, ledger=, chain=, progress=)` on each group
        through its owner's chain. A key that is not in the ledger is reported skipped."""
        records, missing = select(self.ledger, selection)
        reports = [arguments.missing(key) for key in missing]
        if progress:
            progress.start(len(records))
        for owner, group in arguments.by_owner(records).items():
            with self.chain(owner) as chain:
                reports += act(
                    group, ledger=self.ledger, chain=chain, progress=progress.advance if progress else None
                )
        return reports


__all__ = ["SocialPostingService"]
