"""The Supabase ledger's post history: the seed's social_posts rows, one per provider post."""

from __future__ import annotations

from postdeck.ledger.base import LedgerRefused
from postdeck.ledger.queries import PostQuery
from postdeck.ledger.records import PostRecord
from postdeck.ledger.rows import iso, post_record, social_post_row
from postdeck.ledger.supabase_transport import SupabaseTransport, is_uuid, user_uuid


class SupabasePostHistory(SupabaseTransport):
    """SocialPostLog and PostHistory (with LedgerBackend's get_post_history) over Supabase."""

    # --- post history ---------------------------------------------------------------------------

    def record_social_post(self, row: dict) -> str:
        """Append one row to social_posts; returns its id. A known id is not added twice."""
        row = social_post_row(row)
        row["user_id"] = user_uuid(row.get("user_id"), LedgerRefused)
        if row.get("id"):
            row["id"] = str(row["id"])
            self._run(
                "record post",
                lambda: (
                    self._table("social_posts")
                    .upsert(row, on_conflict="id", ignore_duplicates=True, returning="minimal")
                    .execute()
                ),
            )
            return row["id"]
        row.pop("id", None)  # the database draws it (gen_random_uuid)
        created = self._run("record post", lambda: self._table("social_posts").insert(row).execute().data)
        return str(created[0]["id"])

    def _find_posts(self, query: PostQuery, *, limit: int, offset: int) -> list[PostRecord]:
        built = self._table("social_posts").select("*")
        if query.user_id is not None:
            built = built.eq("user_id", user_uuid(query.user_id, LedgerRefused))
        if query.status is not None:
            built = built.eq("status", query.status)
        if query.platform is not None:
            built = built.contains("platforms", [query.platform])
        if query.campaign is not None:
            built = built.eq("campaign", query.campaign)
        if query.since is not None:
            built = built.gte("created_at", iso(query.since))
        built = built.order("created_at", desc=True).order("id").range(offset, offset + limit - 1)
        return [post_record(r) for r in self._run("post history", lambda: built.execute().data)]

    def get_post(self, post_id: str) -> PostRecord | None:
        if not is_uuid(post_id):
            return None
        rows = self._run(
            "get post", lambda: self._table("social_posts").select("*").eq("id", post_id).execute().data
        )
        return post_record(rows[0]) if rows else None

    def posts_by_provider_post_id(self, provider_post_id: str) -> list[PostRecord]:
        """History rows of one provider post (the seed's PostResult.post_id), newest first."""
        query = (
            self._table("social_posts")
            .select("*")
            .eq("provider_post_id", provider_post_id)
            .order("created_at", desc=True)
            .order("id")
        )
        return [post_record(r) for r in self._run("posts by provider id", lambda: query.execute().data)]
