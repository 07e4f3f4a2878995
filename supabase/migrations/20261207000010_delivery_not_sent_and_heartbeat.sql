-- Bounded liveness (issue 18): every delivery has a way out of `unknown`, and a dead run's claims are
-- taken over within a minute. Same semantics as ledger/sqlite.py and ledger/transitions.py.
--
-- 1. `not-sent`: an unknown delivery found at no provider over their idempotency window (the
--    follow-up), or so resolved by a person (`postdeck resolve`). The next publish claims it again
--    (claim_delivery: `recovered`, so it is looked up once more by its post key before it is sent).
-- 2. renew_claims: the live run's heartbeat, moving the lease of every claim it holds forward.

alter table public.deliveries drop constraint if exists deliveries_status_check;
alter table public.deliveries
    add constraint deliveries_status_check
    check (status in ('claimed', 'posted', 'scheduled', 'failed', 'cancelled', 'unknown', 'not-sent'));

create or replace function public.delivery_transition_allowed(from_status text, to_status text)
returns boolean
language sql immutable
set search_path = ''
as $$
    select case from_status
        when 'claimed' then to_status in ('posted', 'scheduled', 'failed', 'unknown', 'cancelled')
        when 'scheduled' then to_status in ('posted', 'failed', 'cancelled', 'scheduled')
        when 'unknown' then to_status in ('posted', 'failed', 'scheduled', 'not-sent')
        when 'not-sent' then to_status in ('posted', 'failed', 'scheduled')
        else false
    end
$$;

-- As in 20261123000004, plus: a not-sent delivery is claimed again (state `recovered`: look it up first).
create or replace function public.claim_delivery(
    p_key text, p_campaign text, p_batch_id text, p_platform text,
    p_content_hash text, p_schedule_hash text, p_caption text, p_scheduled_for timestamptz,
    p_user_id uuid, p_owner text, p_lease_seconds double precision, p_now timestamptz
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_row public.deliveries;
    v_lease timestamptz := p_now + make_interval(secs => p_lease_seconds);
    v_state text;
begin
    insert into public.deliveries (key, campaign, batch_id, platform, status, owner, lease_until, attempts,
                                   content_hash, schedule_hash, caption, scheduled_for, user_id,
                                   created_at, updated_at)
    values (p_key, p_campaign, p_batch_id, p_platform, 'claimed', p_owner, v_lease, 1,
            p_content_hash, p_schedule_hash, p_caption, p_scheduled_for, p_user_id, p_now, p_now)
    on conflict (key) do nothing
    returning * into v_row;
    if found then
        return jsonb_build_object('state', 'claimed', 'delivery', to_jsonb(v_row));
    end if;

    select * into v_row from public.deliveries where key = p_key for update;
    if not found then
        raise exception 'delivery % belongs to another user', p_key using errcode = 'P0001';
    end if;
    if v_row.status = 'not-sent' then
        update public.deliveries
           set status = 'claimed', owner = p_owner, lease_until = v_lease, attempts = attempts + 1,
               updated_at = p_now
         where key = p_key
        returning * into v_row;
        v_state := 'recovered';
    elsif v_row.status <> 'claimed' then
        v_state := 'done';
    elsif v_row.owner is distinct from p_owner and v_row.lease_until is not null and v_row.lease_until > p_now then
        v_state := 'held';
    else
        update public.deliveries
           set owner = p_owner, lease_until = v_lease, attempts = attempts + 1, updated_at = p_now
         where key = p_key
        returning * into v_row;
        v_state := 'recovered';
    end if;
    return jsonb_build_object('state', v_state, 'delivery', to_jsonb(v_row));
end
$$;

-- The live run's heartbeat: every claim `p_owner` holds is leased until p_now + p_lease_seconds.
-- Returns how many claims it renewed.
create or replace function public.renew_claims(p_owner text, p_lease_seconds double precision, p_now timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    v_count integer;
begin
    update public.deliveries
       set lease_until = p_now + make_interval(secs => p_lease_seconds)
     where owner = p_owner and status = 'claimed';
    get diagnostics v_count = row_count;
    return v_count;
end
$$;

revoke all on function public.renew_claims(text, double precision, timestamptz) from public, anon;
grant execute on function public.renew_claims(text, double precision, timestamptz) to authenticated, service_role;
