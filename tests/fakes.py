"""An in-memory Provider for unit tests of the chain and the publisher (never used outside unit tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from postdeck.core.platform import Platform
from postdeck.providers.base import (
    Account,
    ConnectLink,
    PostOutcome,
    PostPage,
    PostRequest,
    TargetResult,
    TargetStatus,
)


@dataclass
class FakeProvider:
    name: str = "fake"
    platforms: tuple[Platform, ...] = tuple(Platform)
    # Called before each create; may raise a ProviderError (nothing stored). `fail_after_store`
    # stores the post, then raises (once).
    before_create: Callable[[PostRequest], None] | None = None
    fail_after_store: Exception | None = None
    lookup_error: Exception | None = None
    # Platform → (error, portable): the post is stored but these targets fail.
    failing: dict[Platform, tuple[str, bool]] = field(default_factory=dict)
    accounts_error: Exception | None = None
    posts: dict[str, PostRequest] = field(default_factory=dict)
    creates: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    lookup_since: list[datetime | None] = field(default_factory=list)
    list_error: Exception | None = None  # raised by list_page
    page_size: int = 100
    uploads: list[bytes] = field(default_factory=list)

    def accounts(
        self, *, platform: Platform | None = None, include_disconnected: bool = False
    ) -> list[Account]:
        if self.accounts_error is not None:
            raise self.accounts_error
        return [
            Account(self.name, f"{self.name}-{p}", p, "someone")
            for p in self.platforms
            if platform is None or p is platform
        ]

    def connect_url(self, platform: Platform, *, redirect_url=None, external_id=None) -> ConnectLink:
        return ConnectLink(self.name, platform, f"https://{self.name}.test/connect/{platform}")

    def connect_bluesky(self, handle: str, app_password: str, *, redirect_url=None) -> Account:
        return Account(self.name, f"{self.name}-bluesky", Platform.BLUESKY, handle)

    def upload(self, data: bytes, *, content_type: str, filename: str) -> str:
        self.uploads.append(data)
        return f"https://media.{self.name}.test/{len(self.uploads)}/{filename}"

    def create(self, request: PostRequest) -> PostOutcome:
        if self.before_create:
            self.before_create(request)
        post_id = f"{self.name}-post-{len(self.posts) + 1}"
        self.posts[post_id] = request
        self.creates.append(request.post_key)
        if self.fail_after_store is not None:
            error, self.fail_after_store = self.fail_after_store, None
            raise error
        return self._outcome(post_id)

    def _outcome(self, post_id: str) -> PostOutcome:
        request = self.posts[post_id]
        status = TargetStatus.SCHEDULED if request.scheduled_at else TargetStatus.POSTED
        results = []
        for t in request.targets:
            if t.platform in self.failing:
                error, portable = self.failing[t.platform]
                results.append(
                    TargetResult(
                        t.platform, t.account_id, TargetStatus.FAILED, error=error, portable=portable
                    )
                )
                continue
            results.append(
                TargetResult(
                    t.platform,
                    t.account_id,
                    status,
                    f"{post_id}-{t.platform}",
                    None if request.scheduled_at else f"https://{t.platform}.test/{post_id}",
                )
            )
        return PostOutcome(
            provider=self.name, provider_post_id=post_id, results=tuple(results), post_key=request.post_key
        )

    def lookup(self, post_key: str, *, since: datetime | None = None) -> PostOutcome | None:
        self.lookups.append(post_key)
        self.lookup_since.append(since)
        if self.lookup_error is not None:
            raise self.lookup_error
        for post_id, request in self.posts.items():
            if request.post_key == post_key:
                return self._outcome(post_id)
        return None

    def get(self, provider_post_id: str) -> PostOutcome:
        return self._outcome(provider_post_id)

    def list_posts(self, *, status: str | None = None, limit: int = 100) -> list[PostOutcome]:
        return [self._outcome(post_id) for post_id in list(self.posts)[::-1][:limit]]

    def list_page(self, page: int) -> PostPage:
        if self.list_error is not None:
            raise self.list_error
        newest = list(self.posts)[::-1]
        window = newest[page * self.page_size : (page + 1) * self.page_size]
        more = (page + 1) * self.page_size < len(newest)
        return PostPage(tuple(self._outcome(post_id) for post_id in window), more)

    def update(self, provider_post_id: str, request: PostRequest) -> PostOutcome:
        self.posts[provider_post_id] = request
        return self._outcome(provider_post_id)

    def cancel(self, provider_post_id: str) -> None:
        self.posts.pop(provider_post_id)

    def close(self) -> None:
        pass
