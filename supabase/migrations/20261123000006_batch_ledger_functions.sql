-- One batch's claims and outcomes in one RPC each (SupabaseLedger.claim_many, record_many): one round trip
-- and one transaction per batch instead of one per delivery. Each calls the single-delivery function for
-- every item, so the semantics stay those of claim_delivery and record_delivery_outcome (20261123000004).
-- SECURITY INVOKER (the default): row level security applies to whoever calls them.
-- Same semantics as SqliteLedger.claim_many and record_many (ledger/sqlite.py).
--
-- Both take their rows' locks in key order (the same key keeps its request order) and answer in request
-- order: two runs sending overlapping keys in different orders then wait for each other instead of
-- deadlocking. Each key's answer depends only on its own row, so the order of the answers is unchanged.

-- claim_delivery for each of p_requests, a JSON array of
-- {key, campaign, batch_id, platform, content_hash, schedule_hash, caption, scheduled_for, user_id}.
-- Returns the JSON array of their answers ({"state", "delivery"}), in request order. All or nothing:
-- any error (a refused request, bad data) aborts the whole call, so no claim of the batch is kept.
create or replace function public.claim_deliveries(
    p_requests jsonb, p_owner text, p_lease_seconds double precision, p_now timestamptz
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_item record;
    v_answers jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(coalesce(p_requests, '[]'))]);
begin
    for v_item in
        select e.value as r, e.n::integer as n
          from jsonb_array_elements(coalesce(p_requests, '[]')) with ordinality as e(value, n)
         order by e.value ->> 'key', e.n
    loop
        v_answers[v_item.n] := public.claim_delivery(
            v_item.r ->> 'key', v_item.r ->> 'campaign', v_item.r ->> 'batch_id', v_item.r ->> 'platform',
            v_item.r ->> 'content_hash', v_item.r ->> 'schedule_hash', v_item.r ->> 'caption',
            (v_item.r ->> 'scheduled_for')::timestamptz, (v_item.r ->> 'user_id')::uuid,
            p_owner, p_lease_seconds, p_now
        );
    end loop;
    return to_jsonb(v_answers);
end
$$;

-- record_delivery_outcome for each of p_outcomes, a JSON array of
-- {key, status, provider, provider_post_id, post_key, platform_post_id, url, error}.
-- Returns a JSON array in request order: {"delivery": <row>} for a stored outcome, {"error", "code"} for a
-- refused one (a backwards move, another run's claim, never claimed, bad data: the classes
-- ledger/supabase.py calls refusals). A refusal undoes only its own item; any other error aborts the call.
create or replace function public.record_delivery_outcomes(
    p_outcomes jsonb, p_owner text, p_now timestamptz
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_item record;
    v_answers jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(coalesce(p_outcomes, '[]'))]);
begin
    for v_item in
        select e.value as o, e.n::integer as n
          from jsonb_array_elements(coalesce(p_outcomes, '[]')) with ordinality as e(value, n)
         order by e.value ->> 'key', e.n
    loop
        begin
            v_answers[v_item.n] := jsonb_build_object('delivery', public.record_delivery_outcome(
                v_item.o ->> 'key', v_item.o ->> 'status', v_item.o ->> 'provider',
                v_item.o ->> 'provider_post_id', v_item.o ->> 'post_key', v_item.o ->> 'platform_post_id',
                v_item.o ->> 'url', v_item.o ->> 'error', p_owner, p_now
            ));
        exception
            when raise_exception or integrity_constraint_violation or data_exception
                 or insufficient_privilege then
                v_answers[v_item.n] := jsonb_build_object('error', sqlerrm, 'code', sqlstate);
        end;
    end loop;
    return to_jsonb(v_answers);
end
$$;

revoke all on function public.claim_deliveries(jsonb, text, double precision, timestamptz) from public, anon;
revoke all on function public.record_delivery_outcomes(jsonb, text, timestamptz) from public, anon;
grant execute on function public.claim_deliveries(jsonb, text, double precision, timestamptz)
    to authenticated, service_role;
grant execute on function public.record_delivery_outcomes(jsonb, text, timestamptz) to authenticated, service_role;
