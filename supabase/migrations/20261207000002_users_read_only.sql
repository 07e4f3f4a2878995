-- Row Level Security tightened: a signed-in user (the `authenticated` role) reads their own rows and
-- may only *ask* for a cancel, through request_delivery_cancel, which records the request. Only the
-- service role (the workers' secret key) claims deliveries and moves their outcomes: before this, a user
-- could update their own deliveries or call the claim and record functions and so mark a delivery
-- `posted` that never was. anon still has nothing; postdeck_planner (20261207000001) reads deliveries.

do $$
declare
    t text;
begin
    foreach t in array array['user_social_credentials', 'social_posts', 'deliveries', 'campaign_runs',
                             'media_uploads', 'account_lists']
    loop
        -- `all`: Supabase's default privileges give `authenticated` every privilege on new tables.
        execute format('revoke all on table public.%I from authenticated', t);
        execute format('grant select on table public.%I to authenticated', t);
        execute format('drop policy if exists %I on public.%I', t || '_own_rows', t);
        execute format('drop policy if exists %I on public.%I', t || '_own_rows_read', t);
        execute format(
            'create policy %I on public.%I for select to authenticated using (user_id = (select auth.uid()))',
            t || '_own_rows_read', t);
    end loop;
end
$$;

-- The ledger's writing functions are the workers' alone (they are SECURITY INVOKER: without write
-- grants a user could not use them anyway, but say so where it is decided).
revoke execute on function public.claim_delivery(text, text, text, text, text, text, text, timestamptz, uuid,
                                                 text, double precision, timestamptz) from authenticated;
revoke execute on function public.note_delivery_attempt(text[], text, text, text) from authenticated;
revoke execute on function public.record_delivery_outcome(text, text, text, text, text, text, text, text, text,
                                                          timestamptz) from authenticated;
revoke execute on function public.reopen_failed_delivery(text, text, double precision, timestamptz)
    from authenticated;
revoke execute on function public.claim_deliveries(jsonb, text, double precision, timestamptz) from authenticated;
revoke execute on function public.record_delivery_outcomes(jsonb, text, timestamptz) from authenticated;

-- A user's request to cancel one of their deliveries. The workers act on open requests (handled_at
-- null) with the service role; a request changes nothing of the delivery by itself.
create table if not exists public.delivery_cancel_requests (
    id           uuid        primary key default gen_random_uuid(),
    delivery_key text        not null references public.deliveries (key) on delete cascade,
    user_id      uuid        not null,
    reason       text        check (reason is null or length(reason) <= 500),
    requested_at timestamptz not null default now(),
    handled_at   timestamptz
);
-- One open request per delivery: asking twice returns the first.
create unique index if not exists delivery_cancel_requests_open
    on public.delivery_cancel_requests (delivery_key) where handled_at is null;
create index if not exists delivery_cancel_requests_user
    on public.delivery_cancel_requests (user_id, requested_at desc);

alter table public.delivery_cancel_requests enable row level security;
revoke all on table public.delivery_cancel_requests from anon, public, authenticated;
grant select on table public.delivery_cancel_requests to authenticated;
grant select, insert, update, delete on table public.delivery_cancel_requests to service_role;
drop policy if exists delivery_cancel_requests_own_rows_read on public.delivery_cancel_requests;
create policy delivery_cancel_requests_own_rows_read on public.delivery_cancel_requests for select
    to authenticated using (user_id = (select auth.uid()));
drop policy if exists delivery_cancel_requests_service_role on public.delivery_cancel_requests;
create policy delivery_cancel_requests_service_role on public.delivery_cancel_requests for all
    to service_role using (true) with check (true);

-- SECURITY DEFINER: the one write a user makes, checked here (their own delivery, still cancellable)
-- rather than granted on the table. Returns the request row (the open one if there is one already).
create or replace function public.request_delivery_cancel(p_key text, p_reason text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_user uuid := auth.uid();
    v_status text;
    v_row public.delivery_cancel_requests;
begin
    if v_user is null then
        raise exception 'a cancel request needs a signed-in user' using errcode = '42501';
    end if;
    select status into v_status from public.deliveries where key = p_key and user_id = v_user;
    if not found then
        raise exception 'no delivery % of yours', p_key using errcode = 'P0001';
    end if;
    if v_status not in ('claimed', 'scheduled', 'unknown') then
        raise exception 'delivery % is %: there is nothing to cancel', p_key, v_status using errcode = 'P0001';
    end if;
    insert into public.delivery_cancel_requests (delivery_key, user_id, reason)
    values (p_key, v_user, p_reason)
    on conflict (delivery_key) where handled_at is null do nothing
    returning * into v_row;
    if not found then
        select * into v_row from public.delivery_cancel_requests where delivery_key = p_key and handled_at is null;
    end if;
    return to_jsonb(v_row);
end
$$;

revoke all on function public.request_delivery_cancel(text, text) from public, anon;
grant execute on function public.request_delivery_cancel(text, text) to authenticated;
