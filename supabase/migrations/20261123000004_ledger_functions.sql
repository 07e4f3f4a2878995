-- The ledger's atomic operations, called through PostgREST (/rest/v1/rpc/...) by ledger/supabase.py.
-- SECURITY INVOKER (the default): row level security applies to whoever calls them.
-- Same semantics as ledger/sqlite.py; the contract tests run both.

-- The delivery state machine (ledger/transitions.py): no state is skipped silently, none moves backwards.
create or replace function public.delivery_transition_allowed(from_status text, to_status text)
returns boolean
language sql immutable
set search_path = ''
as $$
    select case from_status
        when 'claimed' then to_status in ('posted', 'scheduled', 'failed', 'unknown', 'cancelled')
        when 'scheduled' then to_status in ('posted', 'failed', 'cancelled', 'scheduled')
        when 'unknown' then to_status in ('posted', 'failed', 'scheduled')
        else false
    end
$$;

-- Insert-if-absent on the delivery key, or take over a dead owner's claim (lease expired), atomically.
-- Returns {"state": claimed|recovered|held|done, "delivery": <row>}.
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

    -- Lost the race or claimed before: lock the row, then decide (a concurrent takeover waits here).
    select * into v_row from public.deliveries where key = p_key for update;
    if not found then
        raise exception 'delivery % belongs to another user', p_key using errcode = 'P0001';
    end if;
    if v_row.status <> 'claimed' then
        v_state := 'done';
    elsif v_row.owner is distinct from p_owner and v_row.lease_until is not null and v_row.lease_until > p_now then
        v_state := 'held';
    else
        -- The owner died (lease expired) or this is our own earlier attempt: take it over; the caller
        -- must look the post up before sending anything.
        update public.deliveries
           set owner = p_owner, lease_until = v_lease, attempts = attempts + 1, updated_at = p_now
         where key = p_key
        returning * into v_row;
        v_state := 'recovered';
    end if;
    return jsonb_build_object('state', v_state, 'delivery', to_jsonb(v_row));
end
$$;

-- Before a create: remember where it may go, for every key of the post, or for none.
create or replace function public.note_delivery_attempt(
    p_keys text[], p_owner text, p_provider text, p_post_key text
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    v_key text;
begin
    foreach v_key in array p_keys loop
        update public.deliveries
           set attempted_providers = case when p_provider = any (attempted_providers) then attempted_providers
                                          else attempted_providers || p_provider end,
               post_key = p_post_key
         where key = v_key and owner = p_owner;
        if not found then
            raise exception 'delivery % is not claimed by %', v_key, p_owner using errcode = 'P0001';
        end if;
    end loop;
    return coalesce(array_length(p_keys, 1), 0);
end
$$;

-- Store an outcome. Refuses to move a delivery backwards, or over another live run's claim.
create or replace function public.record_delivery_outcome(
    p_key text, p_status text, p_provider text, p_provider_post_id text, p_post_key text,
    p_platform_post_id text, p_url text, p_error text, p_owner text, p_now timestamptz
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_row public.deliveries;
begin
    select * into v_row from public.deliveries where key = p_key for update;
    if not found then
        raise exception 'cannot record %: it was never claimed', p_key using errcode = 'P0001';
    end if;
    if p_owner is not null and v_row.status = 'claimed' and v_row.owner is distinct from p_owner then
        raise exception 'cannot record %: claimed by another run (%)', p_key, v_row.owner using errcode = 'P0001';
    end if;
    if not public.delivery_transition_allowed(v_row.status, p_status) then
        raise exception 'delivery %: cannot move from % to %', p_key, v_row.status, p_status
            using errcode = 'P0001';
    end if;
    update public.deliveries
       set status = p_status,
           provider = coalesce(p_provider, provider),
           provider_post_id = coalesce(p_provider_post_id, provider_post_id),
           post_key = coalesce(p_post_key, post_key),
           platform_post_id = coalesce(p_platform_post_id, platform_post_id),
           url = coalesce(p_url, url),
           error = p_error,
           lease_until = null,
           updated_at = p_now
     where key = p_key
    returning * into v_row;
    return to_jsonb(v_row);
end
$$;

revoke all on function public.claim_delivery(text, text, text, text, text, text, text, timestamptz, uuid, text,
                                             double precision, timestamptz) from public, anon;
revoke all on function public.note_delivery_attempt(text[], text, text, text) from public, anon;
revoke all on function public.record_delivery_outcome(text, text, text, text, text, text, text, text, text,
                                                      timestamptz) from public, anon;
grant execute on function public.claim_delivery(text, text, text, text, text, text, text, timestamptz, uuid, text,
                                                double precision, timestamptz) to authenticated, service_role;
grant execute on function public.note_delivery_attempt(text[], text, text, text) to authenticated, service_role;
grant execute on function public.record_delivery_outcome(text, text, text, text, text, text, text, text, text,
                                                         timestamptz) to authenticated, service_role;
grant execute on function public.delivery_transition_allowed(text, text) to authenticated, service_role;
