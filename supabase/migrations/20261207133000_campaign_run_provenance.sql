-- Which commit each publish run published, and which run and commit sent each delivery (issue 17).
-- Mirrors ledger/sqlite_schema.sql. Only columns and the key check: campaign_runs and deliveries keep
-- their row level security (20261123000003), which covers new columns as it covers the others.

alter table public.campaign_runs
    add column commit_sha    text check (commit_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),  -- SHA-1 or SHA-256
    add column dirty         boolean not null default false,  -- the working tree differed from commit_sha
    add column campaign_path text,
    add column content_hash  text,  -- of every delivery the run rendered (postdeck/engine/runs.py)
    add column plan_hash     text,  -- of the plan it applied
    add constraint campaign_runs_dirty_has_commit check (not dirty or commit_sha is not null);
create index campaign_runs_commit on public.campaign_runs (commit_sha text_pattern_ops, started_at desc)
    where commit_sha is not null;

alter table public.deliveries
    add column run_id         uuid references public.campaign_runs (id) on delete set null,
    add column commit_sha     text check (commit_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
    add column keep_cancelled boolean not null default false,  -- `postdeck cancel --keep-cancelled`
    add constraint deliveries_kept_only_when_cancelled check (not keep_cancelled or status = 'cancelled');
create index deliveries_commit on public.deliveries (commit_sha text_pattern_ops) where commit_sha is not null;
create index deliveries_run on public.deliveries (run_id) where run_id is not null;

-- A key names its delivery's campaign, batch and platform, now also in a later generation
-- (`#N`, a re-created delivery) and in a repost (`~` and 12 hex of the new content): postdeck/core/keys.py.
alter table public.deliveries drop constraint deliveries_key_parts;
alter table public.deliveries add constraint deliveries_key_parts check (
    regexp_replace(key, '(#[1-9][0-9]*)?(~[0-9a-f]{12})?$', '') = campaign || '/' || batch_id || '/' || platform
    or starts_with(
        regexp_replace(key, '(#[1-9][0-9]*)?(~[0-9a-f]{12})?$', ''),
        campaign || '/' || batch_id || '/' || platform || '@'
    )
);
