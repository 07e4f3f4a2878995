-- The embedded ledger. Mirrors supabase/migrations (same tables and column names, SQLite types).
CREATE TABLE IF NOT EXISTS deliveries (
    key                 TEXT PRIMARY KEY,          -- [user:]campaign/batch/platform[@account][#generation]
    campaign            TEXT NOT NULL,
    batch_id            TEXT NOT NULL,
    platform            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('claimed','posted','scheduled','failed','unknown','cancelled','not-sent')),
    owner               TEXT,
    lease_until         TEXT,
    provider            TEXT,
    provider_post_id    TEXT,
    post_key            TEXT,
    attempted_providers TEXT NOT NULL DEFAULT '',
    platform_post_id    TEXT,
    url                 TEXT,
    error               TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    content_hash        TEXT,
    schedule_hash       TEXT,
    caption             TEXT,
    scheduled_for       TEXT,
    user_id             TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    run_id              TEXT,                      -- the campaign run that sent it
    commit_sha          TEXT,                      -- the commit that run published
    keep_cancelled      INTEGER NOT NULL DEFAULT 0 -- pinned cancelled (postdeck cancel --keep-cancelled)
);
CREATE INDEX IF NOT EXISTS deliveries_campaign ON deliveries (campaign);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status);
-- A user's delivery is keyed by its user (`<user id>:campaign/…`, postdeck/core/keys.py), a delivery
-- without one by its campaign alone (as the PostgreSQL table's deliveries_key_scope check): a writer
-- that keys a user's delivery by campaign alone (a postdeck from before keys were scoped) is refused,
-- never left to meet another user's row of that name. Which user the scope names is checked in Python
-- (ledger.claim_scope.check_claim_scope: SQLite cannot spell a UUID canonically).
CREATE TRIGGER IF NOT EXISTS deliveries_key_scope_insert BEFORE INSERT ON deliveries
WHEN (COALESCE(NEW.user_id, '') <> '')
     <> (instr(NEW.key, ':') > 0 AND (instr(NEW.key, '/') = 0 OR instr(NEW.key, ':') < instr(NEW.key, '/')))
BEGIN
    SELECT RAISE(ABORT, 'deliveries_key_scope: a delivery key is scoped by its user exactly when it has one');
END;
CREATE TRIGGER IF NOT EXISTS deliveries_key_scope_update BEFORE UPDATE OF key, user_id ON deliveries
WHEN (COALESCE(NEW.user_id, '') <> '')
     <> (instr(NEW.key, ':') > 0 AND (instr(NEW.key, '/') = 0 OR instr(NEW.key, ':') < instr(NEW.key, '/')))
BEGIN
    SELECT RAISE(ABORT, 'deliveries_key_scope: a delivery key is scoped by its user exactly when it has one');
END;

-- The seed's post history table, one row per provider post (column names kept for existing readers).
CREATE TABLE IF NOT EXISTS social_posts (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT,
    provider            TEXT,
    provider_post_id    TEXT,
    platforms           TEXT,      -- JSON array
    platform_post_ids   TEXT,      -- JSON object
    platform_post_urls  TEXT,      -- JSON object
    content             TEXT,
    media_urls          TEXT,      -- JSON array
    scheduled_for       TEXT,
    posted_at           TEXT,
    status              TEXT,
    error_message       TEXT,
    campaign_id         TEXT,
    batch_number        INTEGER,
    campaign            TEXT,
    batch_id            TEXT,
    post_key            TEXT,
    created_at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS social_posts_user ON social_posts (user_id, created_at);
CREATE INDEX IF NOT EXISTS social_posts_campaign ON social_posts (campaign, created_at);

CREATE TABLE IF NOT EXISTS media_uploads (
    sha256      TEXT NOT NULL,
    provider    TEXT NOT NULL,
    media_url   TEXT NOT NULL,
    user_id     TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (sha256, provider)
);

-- The accounts a provider key last listed (scope: provider, key fingerprint, API address), as a JSON
-- array: a run reuses a recent list instead of asking again (providers/account_cache.py).
CREATE TABLE IF NOT EXISTS account_lists (
    scope       TEXT PRIMARY KEY,
    accounts    TEXT NOT NULL,  -- JSON array of {id, platform, username, profile_id, external_id}
    user_id     TEXT,
    listed_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS campaign_runs (
    id          TEXT PRIMARY KEY,
    campaign    TEXT NOT NULL,
    flow_run_id TEXT,
    user_id     TEXT,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running','completed','failed','cancelled','crashed')),
    summary     TEXT NOT NULL DEFAULT '{}',  -- JSON object
    error       TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    commit_sha  TEXT,                    -- what was published: None outside git
    dirty       INTEGER NOT NULL DEFAULT 0,
    campaign_path TEXT,
    content_hash TEXT,                   -- of every rendered delivery (engine/runs.py)
    plan_hash   TEXT,
    kind        TEXT NOT NULL DEFAULT 'publish'
                CHECK (kind IN ('publish','post','retry','cancel')),
    heartbeat_at TEXT                    -- the live run's last beat; a silent one has crashed
);
CREATE INDEX IF NOT EXISTS campaign_runs_campaign ON campaign_runs (campaign, started_at);

CREATE TABLE IF NOT EXISTS user_social_credentials (
    user_id             TEXT NOT NULL,
    provider            TEXT NOT NULL,
    encrypted_api_key   TEXT NOT NULL,
    connected_platforms TEXT,      -- JSON array
    updated_at          TEXT,
    PRIMARY KEY (user_id, provider)
);
