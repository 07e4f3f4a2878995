-- postdeck's ledger: one row per delivery (campaign × batch × platform[@account]), the unit of exactly-once.
-- Mirrors ledger/sqlite_schema.sql: same tables, same column names.

create table public.deliveries (
    key                 text        primary key,  -- campaign/batch/platform[@account]: the unique delivery key
    campaign            text        not null,
    batch_id            text        not null,
    platform            text        not null,
    status              text        not null
        check (status in ('claimed', 'posted', 'scheduled', 'failed', 'cancelled', 'unknown')),
    owner               text,                     -- the flow run holding the claim
    lease_until         timestamptz,
    provider            text,
    provider_post_id    text,
    post_key            text,                     -- what a crash recovery looks up at the providers
    attempted_providers text[]      not null default '{}',
    platform_post_id    text,
    url                 text,
    error               text,
    attempts            integer     not null default 0 check (attempts >= 0),
    content_hash        text,                     -- kept apart from the schedule hash: an edit is not a reschedule
    schedule_hash       text,
    caption             text,
    scheduled_for       timestamptz,
    user_id             uuid,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint deliveries_key_parts check (
        key = campaign || '/' || batch_id || '/' || platform
        or starts_with(key, campaign || '/' || batch_id || '/' || platform || '@')
    ),
    -- A claim always names its holder; an outcome releases the lease.
    constraint deliveries_claim_has_owner check (status <> 'claimed' or owner is not null),
    constraint deliveries_lease_only_while_claimed check (status = 'claimed' or lease_until is null)
);
create index deliveries_campaign on public.deliveries (campaign, key);
create index deliveries_status on public.deliveries (status, created_at);
create index deliveries_user on public.deliveries (user_id, updated_at desc);
create index deliveries_post_key on public.deliveries (post_key) where post_key is not null;

create table public.campaign_runs (
    id          uuid        primary key default gen_random_uuid(),
    campaign    text        not null,
    flow_run_id text,
    user_id     uuid,
    status      text        not null default 'running'
        check (status in ('running', 'completed', 'failed', 'cancelled', 'crashed')),
    summary     jsonb       not null default '{}',
    error       text,
    started_at  timestamptz not null default now(),
    finished_at timestamptz,
    constraint campaign_runs_finished_when_done check ((status = 'running') = (finished_at is null)),
    constraint campaign_runs_finish_after_start check (finished_at is null or finished_at >= started_at)
);
create index campaign_runs_campaign on public.campaign_runs (campaign, started_at desc);
create index campaign_runs_user on public.campaign_runs (user_id, started_at desc);

-- Each local file is uploaded once per provider: SHA-256 of its bytes × provider → the provider's media URL.
create table public.media_uploads (
    sha256      text        not null check (sha256 ~ '^[0-9a-f]{64}$'),
    provider    text        not null,
    media_url   text        not null check (media_url ~ '^https?://'),
    user_id     uuid,
    created_at  timestamptz not null default now(),
    primary key (sha256, provider)
);

-- History queries: a user's posts, newest first, by status, platform or campaign.
create index if not exists social_posts_user on public.social_posts (user_id, created_at desc);
create index if not exists social_posts_user_status on public.social_posts (user_id, status, created_at desc);
create index if not exists social_posts_campaign on public.social_posts (campaign, created_at desc);
create index if not exists social_posts_platforms on public.social_posts using gin (platforms);
create index if not exists social_posts_provider_post on public.social_posts (provider, provider_post_id);
