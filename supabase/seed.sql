-- Local demo data for `supabase db reset` (supabase/config.toml runs it after the migrations).
-- One demo user who can sign in (demo@postdeck.local / postdeck-demo) and owns one history row, so
-- `postdeck history` and the Row Level Security of the migrations have something to show.
-- Never run against a hosted project: the password is public.

insert into auth.users (
    instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
    raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
    confirmation_token, email_change, email_change_token_new, recovery_token
) values (
    '00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000de30',
    'authenticated', 'authenticated', 'demo@postdeck.local',
    extensions.crypt('postdeck-demo', extensions.gen_salt('bf')), now(),
    '{"provider": "email", "providers": ["email"]}', '{"name": "postdeck demo"}', now(), now(),
    '', '', '', ''
) on conflict (id) do nothing;

insert into auth.identities (
    id, user_id, provider_id, provider, identity_data, last_sign_in_at, created_at, updated_at
) values (
    '00000000-0000-4000-8000-00000000de31', '00000000-0000-4000-8000-00000000de30',
    '00000000-0000-4000-8000-00000000de30', 'email',
    '{"sub": "00000000-0000-4000-8000-00000000de30", "email": "demo@postdeck.local", "email_verified": true}',
    now(), now(), now()
) on conflict do nothing;

insert into public.social_posts (user_id, provider, provider_post_id, platforms, content, status, posted_at, campaign, batch_id)
values ('00000000-0000-4000-8000-00000000de30', 'postforme', 'sp_demo_1', '{twitter}',
        'Hello from the postdeck demo user', 'posted', now(), 'demo', 'hello');
