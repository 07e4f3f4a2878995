"""Seed 000's provider classes, usable on their own:

    provider = PostForMeProvider(api_key=os.getenv("POSTFORME_API_KEY"))
    result = provider.post(content="Hello", platforms=["twitter", "linkedin"], media_urls=[...])

Each wraps postdeck's client for that provider (providers.postforme / providers.late) and posts through
the same exactly-once publisher as everything else, on the configured ledger, with this one provider
and no failover (the service adds failover). Like the seed, no method raises for provider trouble.
"""

from __future__ import annotations

import logging
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from postdeck.chain_factory import build_chain
from postdeck.core.platform import Platform
from postdeck.errors import PostdeckError
from postdeck.media_download import download_media
from postdeck.providers.chain import Link
from postdeck.providers.errors import ProviderError
from postdeck.providers.late import LateClient
from postdeck.providers.media import sniff_content_type
from postdeck.providers.postforme import PostForMeClient
from postdeck.service.adhoc import AdhocPost, post_file, posts_dir, prepare
from postdeck.service.posting import new_owner, send, sent_in
from postdeck.service.results import PROVIDER_NAMES, AccountInfo, PostResult
from postdeck.timeparse import parse_when, require_future

log = logging.getLogger("postdeck.service")


class SocialPostingProvider(ABC):
    """The seed's provider interface."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def get_accounts(self) -> list[AccountInfo]: ...

    @abstractmethod
    def upload_media(self, image_url: str) -> str | None: ...

    @abstractmethod
    def post(
        self,
        content: str,
        platforms: list[str],
        media_urls: list[str] | None = None,
        scheduled_for: datetime | None = None,
    ) -> PostResult: ...


class _ClientProvider(SocialPostingProvider):
    client_class: ClassVar[type]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        user_id: str | None = None,
        ledger: Any = None,
        posts_folder: Path | str | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        # Keyless construction raises CredentialsError, as the seed's provider cannot work without one.
        self.client = self.client_class(api_key=api_key, base_url=base_url, http_client=http_client)
        self.user_id = user_id
        self._ledger = ledger
        self.posts_folder = posts_dir(posts_folder)

    @property
    def name(self) -> str:
        return PROVIDER_NAMES[self.client.name]

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from postdeck.ledger import open_ledger

            self._ledger = open_ledger()
        return self._ledger

    def get_accounts(self) -> list[AccountInfo]:
        try:
            accounts = self.client.accounts()
        except ProviderError as exc:
            log.error("%s: cannot list accounts: %s", self.name, exc)
            return []
        return [
            AccountInfo(a.id, a.platform.value, a.username, a.profile_id, a.provider, a.connected)
            for a in accounts
        ]

    def upload_media(self, image_url: str) -> str | None:
        """Upload an image (a URL, fetched safely, or a local path) to the provider; its URL, or None."""
        try:
            if "://" in image_url:
                with tempfile.TemporaryDirectory(prefix="postdeck-media-") as folder:
                    got = download_media(image_url, Path(folder))
                    data, kind, filename = got.path.read_bytes(), got.content_type, got.path.name
            else:
                path = Path(image_url)
                data = path.read_bytes()
                kind, filename = sniff_content_type(data, filename=path.name), path.name
            return self.client.upload(data, content_type=kind, filename=filename)
        except (PostdeckError, OSError) as exc:
            log.error("%s: media not uploaded: %s", self.name, exc)
            return None

    def post(
        self,
        content: str,
        platforms: Sequence[str],
        media_urls: Sequence[str] | None = None,
        scheduled_for: datetime | str | None = None,
    ) -> PostResult:
        try:
            when = parse_when(scheduled_for, utc=True)
            require_future(when)
            post = AdhocPost(
                content=content,
                platforms=tuple(Platform(str(p).lower()) for p in platforms),
                user_id=self.user_id,
                media=tuple(media_urls or ()),
                scheduled_for=when,
            )
            deliveries = prepare(post, folder=self.posts_folder, sent=sent_in(self.ledger))
            chain = build_chain([Link(f"{self.client.name}:direct", self.client)], self.ledger)
            return send(
                deliveries,
                ledger=self.ledger,
                chain=chain,
                owner=new_owner("provider"),
                source_file=post_file(self.posts_folder, deliveries),
            )
        except ValueError as exc:  # an unknown platform name
            return PostResult.failure(f"unknown platform: {exc}")
        except PostdeckError as exc:
            return PostResult.failure(str(exc))

    def close(self) -> None:
        self.client.close()


class PostForMeProvider(_ClientProvider):
    """Post for Me (the seed's primary, cheaper provider)."""

    client_class = PostForMeClient


class LateProvider(_ClientProvider):
    """LATE (the seed's fallback, reliable provider)."""

    client_class = LateClient


__all__ = ["LateProvider", "PostForMeProvider", "SocialPostingProvider"]
