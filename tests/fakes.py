"""An in-memory Provider for unit tests of the chain and the publisher (never used outside unit tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from postdeck.providers.base import (
    Account,
    Platform,
    PostOutcome,
    PostRequest,
    TargetResult,
    TargetStatus,
)


@dataclass
class FakeProvider:
    name: str = "fake"
    platforms: tuple[Platform, ...] = tuple(Platform)
    # Called before each create; may raise a ProviderError. Returning "store-then-raise" semantics
    # is modelled by `fail_after_store`.
    before_create: Callable[[PostRequest], None] | None = None
    fail_after_store: Exception | None = None
    lookup_error: Exception | None = None
    posts: dict[str, PostRequest] = field(default_factory=dict)
    creates: list[str] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)

    def accounts(self) -> list[Account]:
        return [Account(self.name, f"{self.name}-{p}", p, "someone") for p in self.platforms]

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
        return PostOutcome(
            provider=self.name,
            provider_post_id=post_id,
            results=tuple(
                TargetResult(
                    t.platform,
                    t.account_id,
                    status,
                    f"{post_id}-{t.platform}",
                    None if request.scheduled_at else f"https://{t.platform}.test/{post_id}",
                )
                for t in request.targets
            ),
        )

    def lookup(self, post_key: str) -> PostOutcome | None:
        if self.lookup_error is not None:
            raise self.lookup_error
        for post_id, request in self.posts.items():
            if request.post_key == post_key:
                return self._outcome(post_id)
        return None

    def get(self, provider_post_id: str) -> PostOutcome:
        return self._outcome(provider_post_id)

    def cancel(self, provider_post_id: str) -> None:
        self.posts.pop(provider_post_id)

    def close(self) -> None:
        pass
