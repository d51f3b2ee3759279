-- The product's own state (schema governance). Idempotent.
CREATE SCHEMA IF NOT EXISTS governance;

CREATE TABLE IF NOT EXISTS governance.legal_holds (
    hold_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL,
    reason      text NOT NULL,
    placed_by   text NOT NULL,
    placed_at   timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    CHECK (released_at IS NULL OR released_at >= placed_at)
);
CREATE INDEX IF NOT EXISTS legal_holds_active_idx ON governance.legal_holds (user_id) WHERE released_at IS NULL;

-- Append-only, hash-chained: entry_hash = sha256(prev_hash || canonical JSON of the entry).
-- seq is assigned under a table lock, so it has no gaps; a gap or a changed row breaks the chain.
CREATE TABLE IF NOT EXISTS governance.audit_ledger (
    seq           bigint PRIMARY KEY CHECK (seq >= 1),
    recorded_at   timestamptz NOT NULL,
    workflow      text NOT NULL,
    run_id        text,
    action        text NOT NULL,
    rule          text,
    target_table  text,
    cutoff        timestamptz,
    policy_sha256 char(64),
    counts        jsonb NOT NULL DEFAULT '{}'::jsonb,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash     char(64) NOT NULL,
    entry_hash    char(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_ledger_run_idx ON governance.audit_ledger (workflow, run_id);

-- Defence in depth: the ledger refuses UPDATE, DELETE and TRUNCATE. Verification still
-- detects tampering by anyone able to bypass this (a superuser, a restore from backup).
CREATE OR REPLACE FUNCTION governance.refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'governance.audit_ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS audit_ledger_append_only ON governance.audit_ledger;
CREATE TRIGGER audit_ledger_append_only
    BEFORE UPDATE OR DELETE ON governance.audit_ledger
    FOR EACH ROW EXECUTE FUNCTION governance.refuse_ledger_change();

DROP TRIGGER IF EXISTS audit_ledger_no_truncate ON governance.audit_ledger;
CREATE TRIGGER audit_ledger_no_truncate
    BEFORE TRUNCATE ON governance.audit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION governance.refuse_ledger_change();

-- Every report the workflows write, where it is, and its checksum.
CREATE TABLE IF NOT EXISTS governance.report_index (
    report_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow      text NOT NULL,
    run_id        text NOT NULL,
    report_type   text NOT NULL,
    period_start  timestamptz,
    period_end    timestamptz,
    bucket        text NOT NULL,
    object_key    text NOT NULL,
    content_type  text NOT NULL,
    sha256        char(64) NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    summary       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow, run_id, report_type, object_key)
);
CREATE INDEX IF NOT EXISTS report_index_workflow_idx ON governance.report_index (workflow, created_at DESC);

-- Moderation-log archive objects: what was archived, where, and its verified checksum.
CREATE TABLE IF NOT EXISTS governance.archive_manifests (
    manifest_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        text NOT NULL,
    source_table  text NOT NULL,
    partition_key text NOT NULL,
    bucket        text NOT NULL,
    object_key    text NOT NULL,
    version_id    text,
    sha256        char(64) NOT NULL,
    row_count     bigint NOT NULL CHECK (row_count >= 0),
    min_key       bigint,
    max_key       bigint,
    retain_until  timestamptz,
    verified_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket, object_key)
);

-- Data-quality findings: keys and hashes of offending rows, never the raw value.
CREATE TABLE IF NOT EXISTS governance.dq_results (
    result_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         text NOT NULL,
    suite          text NOT NULL,
    expectation    text NOT NULL,
    target         text NOT NULL,
    success        boolean NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('fail', 'warn')),
    unexpected_count bigint NOT NULL DEFAULT 0,
    sample_keys    jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dq_results_run_idx ON governance.dq_results (run_id);

-- Progress of each purge rule in each run, updated in the same transaction as every batch,
-- so the counts survive a crash: a rerun continues them, and the ledger records them.
CREATE TABLE IF NOT EXISTS governance.purge_runs (
    run_id             text NOT NULL,
    rule               text NOT NULL,
    cutoff             timestamptz NOT NULL,
    policy_sha256      char(64) NOT NULL,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    rows_deleted       bigint NOT NULL DEFAULT 0,
    rows_pseudonymised bigint NOT NULL DEFAULT 0,
    rows_media_marked  bigint NOT NULL DEFAULT 0,
    objects_deleted    bigint NOT NULL DEFAULT 0,
    batches            bigint NOT NULL DEFAULT 0,
    error              text,
    PRIMARY KEY (run_id, rule)
);
CREATE INDEX IF NOT EXISTS purge_runs_unfinished_idx ON governance.purge_runs (rule) WHERE finished_at IS NULL;
