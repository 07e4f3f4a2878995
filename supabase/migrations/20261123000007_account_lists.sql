-- The accounts a provider key last listed, so a run can reuse a recent list instead of asking the
-- provider again (postdeck/providers/account_cache.py; SqliteLedger keeps the same table).
-- scope = provider, fingerprint of the key (never the key) and API address. Only ids, platforms and
-- names are kept: no platform tokens. A run re-lists when the list is older than its maximum age, when
-- a provider refuses an account from it, or when a platform has no account anywhere.
create table public.account_lists (
    scope      text        primary key,
    accounts   jsonb       not null check (jsonb_typeof(accounts) = 'array'),
    user_id    uuid,
    listed_at  timestamptz not null
);

-- Row level security as on every other table (20261123000003): own rows, the service role all, anon none.
alter table public.account_lists enable row level security;
revoke all on table public.account_lists from anon, public;
grant select, insert, update, delete on table public.account_lists to authenticated, service_role;
create policy account_lists_own_rows on public.account_lists for all to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy account_lists_service_role on public.account_lists for all to service_role
    using (true) with check (true);
