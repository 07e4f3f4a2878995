-- The read-only role of a pull request's `postdeck plan` (SUPABASE_PLAN_TOKEN: a JWT whose `role` claim
-- is postdeck_planner, sent with the publishable key; see ledger/supabase_keys.py). It may read the
-- deliveries, which is all a plan compares, and nothing else: no other table, no ledger function, no
-- write. A plan job that runs a pull request's own code can then leak nothing and change nothing.

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'postdeck_planner') then
        create role postdeck_planner nologin noinherit;
    end if;
    -- PostgREST logs in as `authenticator` and switches to the JWT's role: it must be a member.
    -- (A plain PostgreSQL, as in the tests, has no authenticator.)
    if exists (select 1 from pg_roles where rolname = 'authenticator') then
        grant postdeck_planner to authenticator;
    end if;
end
$$;

grant usage on schema public to postdeck_planner;
grant select on table public.deliveries to postdeck_planner;
drop policy if exists deliveries_planner_reads on public.deliveries;
create policy deliveries_planner_reads on public.deliveries for select to postdeck_planner using (true);
