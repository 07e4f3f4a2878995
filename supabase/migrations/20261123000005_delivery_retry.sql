-- An explicit retry (`postdeck retry`, SocialPostingService.retry): a failed delivery is claimed again.
-- The one move out of 'failed', made only when a person asks, never by a publishing run. It forgets the
-- last attempt (provider, post, post key, attempted providers) so the new claim is sent afresh, and is
-- atomic: of two concurrent retriers exactly one gets the row back, the other gets null.
-- Same semantics as SqliteLedger.reopen_failed (ledger/sqlite.py).
create or replace function public.reopen_failed_delivery(
    p_key text, p_owner text, p_lease_seconds double precision, p_now timestamptz
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
    v_row public.deliveries;
begin
    update public.deliveries
       set status = 'claimed',
           owner = p_owner,
           lease_until = p_now + make_interval(secs => p_lease_seconds),
           attempts = attempts + 1,
           provider = null,
           provider_post_id = null,
           post_key = null,
           attempted_providers = '{}',
           platform_post_id = null,
           url = null,
           error = null,
           updated_at = p_now
     where key = p_key and status = 'failed'
    returning * into v_row;
    if not found then
        return null;
    end if;
    return to_jsonb(v_row);
end
$$;

revoke all on function public.reopen_failed_delivery(text, text, double precision, timestamptz) from public, anon;
grant execute on function public.reopen_failed_delivery(text, text, double precision, timestamptz)
    to authenticated, service_role;
