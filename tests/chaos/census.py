"""What the simulators hold, read over their HTTP APIs as any client would (not from their memory).

Post for Me: GET /v1/social-posts and /v1/social-post-results (pages of 100). LATE: GET /api/v1/posts
(pages of 500). Each provider post becomes one row per platform target, with where it stands:
`published`, `failed`, `pending` (accepted, may still go live) or `draft`. `/_sim/stats` adds how many
posts each post key was stored as, and `/_sim/faults` what the fault plan did.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from postdeck.sandbox.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY

LIVE = ("published", "pending")  # is, or may become, visible on the platform


@dataclass(frozen=True)
class Target:
    provider: str
    post_id: str
    post_key: str | None
    caption: str
    platform: str
    status: str


def _pages(client: httpx.Client, path: str, params: dict[str, Any], size: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = client.get(path, params={**params, "limit": size, "offset": offset}).raise_for_status().json()
        rows += body["data"]
        offset += size
        if offset >= body["meta"]["total"]:
            return rows


def postforme_targets(url: str) -> list[Target]:
    headers = {"Authorization": f"Bearer {SANDBOX_POSTFORME_KEY}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        posts = _pages(client, "/v1/social-posts", {}, 100)
        results = _pages(client, "/v1/social-post-results", {}, 100)
    by_target = {(r["post_id"], r["social_account_id"]): r for r in results}
    rows = []
    for post in posts:
        for account in post["social_accounts"]:
            result = by_target.get((post["id"], account["id"]))
            if post["status"] == "processed":
                status = "published" if result and result["success"] else "failed"
            else:
                status = "draft" if post["status"] == "draft" else "pending"
            platform = "twitter" if account["platform"] == "x" else account["platform"]
            rows.append(
                Target("postforme", post["id"], post["external_id"], post["caption"], platform, status)
            )
    return rows


def late_targets(url: str) -> list[Target]:
    headers = {"Authorization": f"Bearer {SANDBOX_LATE_KEY}"}
    rows = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        page = 1
        while True:
            body = client.get("/v1/posts", params={"limit": 500, "page": page}).raise_for_status().json()
            for post in body["posts"]:
                key = (post.get("metadata") or {}).get("postdeck_post_key")
                for target in post["platforms"]:
                    raw = target.get("status")
                    if post["status"] == "draft":
                        status = "draft"
                    else:
                        status = raw if raw in ("published", "failed") else "pending"
                    caption = target.get("customContent") or post.get("content") or ""
                    rows.append(Target("late", post["_id"], key, caption, target["platform"], status))
            if page >= body["pagination"]["pages"]:
                return rows
            page += 1


def admin(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An unauthenticated /_sim route: GET, or POST with a JSON body."""
    with httpx.Client(timeout=30) as client:
        if body is None:
            return client.get(url + path).raise_for_status().json()
        return client.post(url + path, json=body).raise_for_status().json()


def stored_twice(postforme_root: str, late_root: str) -> dict[str, int]:
    """Post keys a provider stored more than once (as its /_sim/stats counts the creates it kept)."""
    twice: dict[str, int] = {}
    for root, field in ((postforme_root, "creates_by_external_id"), (late_root, "creates_by_post_key")):
        for key, count in admin(root, "/_sim/stats")[field].items():
            if count > 1:
                twice[key] = count
    return twice


def live_count(targets: list[Target]) -> Counter[tuple[str, str]]:
    """(caption, platform) → how many live copies the providers hold."""
    return Counter((t.caption, t.platform) for t in targets if t.status in LIVE)
