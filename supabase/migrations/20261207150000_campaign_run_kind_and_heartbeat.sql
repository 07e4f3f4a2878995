-- Every run that acts on a campaign's deliveries at their providers is a row of campaign_runs, and a
-- run whose process died is told apart from one still running (issue 17). Mirrors
-- ledger/sqlite_schema.sql and ledger/sqlite_upgrade.py.
--
-- 1. kind: `publish` (the flow; every row before this migration), `post` (`postdeck post`, the Python
--    API's create_post and publish_batch), `retry` or `cancel` (`postdeck retry|cancel`, the API's).
-- 2. heartbeat_at: the live run's last beat (every third of POSTDECK_CLAIM_HEARTBEAT_TIMEOUT, as its
--    claims'). A running row whose beat is older than the timeout has lost its process: `postdeck
--    runs` shows it crashed, and the next publish of the campaign records it so (status `crashed`,
--    finished_at = the last beat: when it was last alive). Rows from before this have none.
--
-- Only columns and checks: campaign_runs keeps its row level security (20261123000003, tightened by
-- 20261207000002: a signed-in user reads their own rows and writes none; only the service role, the
-- workers, starts, beats and ends runs), which covers new columns as it covers the others.

alter table public.campaign_runs
    add column kind         text not null default 'publish'
        check (kind in ('publish', 'post', 'retry', 'cancel')),
    add column heartbeat_at timestamptz,
    add constraint campaign_runs_beat_after_start check (heartbeat_at is null or heartbeat_at >= started_at);

-- The running rows of a campaign, read before each publish to find the silent ones.
create index campaign_runs_running on public.campaign_runs (campaign, heartbeat_at) where status = 'running';
