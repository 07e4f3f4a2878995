-- Delivery keys scoped by owner (issue 18, finding B). A key was `campaign/batch/platform…`: two users
-- whose campaigns share a name, batch ids and platforms had one key, and the claim of the second (as
-- the service role the workers use, which sees every row) was answered with the first one's row, so
-- that delivery was never sent. A delivery with a user is now keyed `<user id>:campaign/…`
-- (postdeck/core/keys.py: the user id in its canonical text form, as user_id::text spells it); one
-- without a user keeps its key. There is no workspace in postdeck: the owner is the only tenant.
--
-- 1. Cancel requests name their delivery by key: they follow it when it changes.
-- 2. Every existing delivery with a user gets the key its campaign renders now, so publishing it again
--    finds it (`unchanged`), not a new delivery to send. Its post key is not rewritten: it is what its
--    provider post carries (a lookup after a crash, the follow-up of an unknown one use it as stored).
-- 3. The table holds it: a key is scoped by its user exactly when it has one (deliveries_key_scope).
--    A worker from before this migration, keying a user's delivery by campaign alone, is refused
--    instead of claiming it again under the old key.
-- 4. claim_delivery refuses a claim that meets another user's row (or a user's row, with none), naming
--    both, never answering with it. With (3) no such request reaches a row; this holds without it too.
-- Same as ledger/sqlite_upgrade.py (scope_owned_keys) and ledger/sqlite.py for a SQLite ledger.

-- 1.
alter table public.delivery_cancel_requests drop constraint if exists delivery_cancel_requests_delivery_key_fkey;
alter table public.delivery_cancel_requests
    add constraint delivery_cancel_requests_delivery_key_fkey foreign key (delivery_key)
    references public.deliveries (key) on update cascade on delete cascade;

-- 2. (The old parts check names the key from its campaign on: it goes, and comes back scope-aware.)
alter table public.deliveries drop constraint deliveries_key_parts;
update public.deliveries
   set key = user_id::text || ':' || key
 where user_id is not null and strpos(split_part(key, '/', 1), ':') = 0;

-- 3. The key's first part is the campaign, after `<user id>:` when there is a user; the rest as before
--    (20261207133000): batch, platform[@account], then a generation `#N` or a repost's `~<12 hex>`.
alter table public.deliveries add constraint deliveries_key_scope check (
    split_part(key, '/', 1) = case when user_id is null then campaign else user_id::text || ':' || campaign end
);
alter table public.deliveries add constraint deliveries_key_parts check (
    regexp_replace(regexp_replace(key, '^[^/]*:', ''), '(#[1-9][0-9]*)?(~[0-9a-f]{12})?$', '')
        = campaign || '/' || batch_id || '/' || platform
    or starts_with(
        regexp_replace(regexp_replace(key, '^[^/]*:', ''), '(#[1-9][0-9]*)?(~[0-9a-f]{12})?$', ''),
        campaign || '/' || batch_id || '/' || platform || '@'
    )
);

-- 4. As in 20261207000010, plus the refusal of another user's row.
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
    if v_row.user_id is distinct from p_user_id then
        raise exception 'delivery % belongs to user %, not to %: refused', p_key,
            coalesce(v_row.user_id::text, '(none)'), coalesce(p_user_id::text, '(none)')
            using errcode = 'P0001';
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
