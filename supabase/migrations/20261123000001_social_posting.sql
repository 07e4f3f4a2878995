-- The seed's tables (seed 000), column names kept so the service's existing readers keep working.
-- Written to adopt a project that already has them: create if absent, then add what postdeck needs.

create table if not exists public.user_social_credentials (
    user_id             uuid        not null,
    provider            text        not null,
    encrypted_api_key   text        not null,
    connected_platforms text[],
    updated_at          timestamptz,
    primary key (user_id, provider)
);
alter table public.user_social_credentials alter column connected_platforms set default '{}';
alter table public.user_social_credentials alter column updated_at set default now();
alter table public.user_social_credentials drop constraint if exists user_social_credentials_provider_check;
alter table public.user_social_credentials
    add constraint user_social_credentials_provider_check check (provider in ('postforme', 'late'));
-- A Fernet token is url-safe base64; an empty or obviously wrong value is a bug, not a key.
alter table public.user_social_credentials drop constraint if exists user_social_credentials_token_check;
alter table public.user_social_credentials
    add constraint user_social_credentials_token_check check (encrypted_api_key ~ '^[A-Za-z0-9_=-]{20,}$');

create table if not exists public.social_posts (
    id                  uuid        primary key default gen_random_uuid(),
    user_id             uuid        not null,
    provider            text,
    provider_post_id    text,
    platforms           text[],
    platform_post_ids   jsonb,
    platform_post_urls  jsonb,
    content             text,
    media_urls          text[],
    scheduled_for       timestamptz,
    posted_at           timestamptz,
    status              text,       -- 'posted' | 'scheduled' | 'failed' (+ postdeck's 'unknown', 'cancelled')
    error_message       text,
    campaign_id         uuid,
    batch_number        integer,
    created_at          timestamptz default now()
);
-- A campaign without an owner publishes with the global keys: its history has no user (service role only).
alter table public.social_posts alter column user_id drop not null;
alter table public.social_posts alter column created_at set not null;
-- postdeck's campaigns are files named by campaign name and batch id, and each post carries a post key.
alter table public.social_posts add column if not exists campaign text;
alter table public.social_posts add column if not exists batch_id text;
alter table public.social_posts add column if not exists post_key text;
alter table public.social_posts drop constraint if exists social_posts_status_check;
alter table public.social_posts
    add constraint social_posts_status_check
    check (status in ('posted', 'scheduled', 'failed', 'unknown', 'cancelled'));
