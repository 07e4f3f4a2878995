-- Row Level Security on every table: an authenticated user sees and changes only rows of their own
-- user_id (auth.uid()); the service role used by workers sees all; anon sees nothing.
-- The service_role policies are explicit so access does not depend on the role's BYPASSRLS attribute.

do $$
declare
    t text;
begin
    foreach t in array array['user_social_credentials', 'social_posts', 'deliveries', 'campaign_runs',
                             'media_uploads']
    loop
        execute format('alter table public.%I enable row level security', t);
        execute format('revoke all on table public.%I from anon, public', t);
        execute format('grant select, insert, update, delete on table public.%I to authenticated, service_role', t);
        execute format('drop policy if exists %I on public.%I', t || '_own_rows', t);
        execute format(
            'create policy %I on public.%I for all to authenticated '
            'using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()))',
            t || '_own_rows', t);
        execute format('drop policy if exists %I on public.%I', t || '_service_role', t);
        execute format(
            'create policy %I on public.%I for all to service_role using (true) with check (true)',
            t || '_service_role', t);
    end loop;
end
$$;
