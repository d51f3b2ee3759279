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
-- What a hold is for (a ticket or case), and who released it and why (the Governance view asks for both).
ALTER TABLE governance.legal_holds ADD COLUMN IF NOT EXISTS reference text;
ALTER TABLE governance.legal_holds ADD COLUMN IF NOT EXISTS released_by text;
ALTER TABLE governance.legal_holds ADD COLUMN IF NOT EXISTS release_reason text;

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
    entry_hash    char(64) NOT NULL UNIQUE,
    entry_mac     char(64)  -- HMAC-SHA256(ledger key, entry_hash): only the key's holder can append
);
CREATE INDEX IF NOT EXISTS audit_ledger_run_idx ON governance.audit_ledger (workflow, run_id);
-- A ledger created before entries were signed; its earlier entries stay unsigned.
ALTER TABLE governance.audit_ledger ADD COLUMN IF NOT EXISTS entry_mac char(64);

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

-- Every report the workflows write, where it is, and its checksum. Rows are only ever added
-- (the workflows' role may not UPDATE or DELETE them): a rerun that writes different bytes
-- under the same key adds a row for the new version.
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
    version_id    text
);
ALTER TABLE governance.report_index ADD COLUMN IF NOT EXISTS version_id text;
-- Earlier versions rewrote a rerun's row in place; now one row per distinct object content.
ALTER TABLE governance.report_index DROP CONSTRAINT IF EXISTS report_index_workflow_run_id_report_type_object_key_key;
CREATE UNIQUE INDEX IF NOT EXISTS report_index_object_content_idx ON governance.report_index (bucket, object_key, sha256);
CREATE INDEX IF NOT EXISTS report_index_workflow_idx ON governance.report_index (workflow, created_at DESC);
-- When the report's object was found gone from its bucket (the local S3 server lost its data); NULL while it is
-- there. The only column ever changed, and only by the owner: the local stack's check at `make services`
-- (scripts/s3_reconcile.py). The Governance view offers no link to such a report.
ALTER TABLE governance.report_index ADD COLUMN IF NOT EXISTS missing_since timestamptz;

-- Archive objects (moderation_log_archival): one row per object, written as its intent
-- before it is uploaded, then moved through its states:
--   intent     the rows were chosen and written to a local file; the upload may not have happened
--   uploaded   the object is in the archive bucket (version_id), locked until retain_until
--   verified   read back: SHA-256, row count and id range match
--   complete   its rows were deleted from the table (rows_removed; held ones kept)
--   expired    retain_until passed and the object was deleted by version id
--   abandoned  the intent found no object on a rerun; its rows stayed in the table
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
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS rule text;
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'intent';
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS legal_hold boolean NOT NULL DEFAULT false;
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS rows_removed bigint NOT NULL DEFAULT 0;
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS completed_at timestamptz;
ALTER TABLE governance.archive_manifests ADD COLUMN IF NOT EXISTS expired_at timestamptz;
ALTER TABLE governance.archive_manifests DROP CONSTRAINT IF EXISTS archive_manifests_state_check;
ALTER TABLE governance.archive_manifests ADD CONSTRAINT archive_manifests_state_check
    CHECK (state IN ('intent', 'uploaded', 'verified', 'complete', 'expired', 'abandoned'));
CREATE INDEX IF NOT EXISTS archive_manifests_open_idx ON governance.archive_manifests (rule, state)
    WHERE state IN ('intent', 'uploaded', 'verified');
CREATE INDEX IF NOT EXISTS archive_manifests_retain_idx ON governance.archive_manifests (retain_until)
    WHERE state = 'complete';

-- The people whose events each object holds, so that a legal hold finds the objects to put
-- under an S3 legal hold without reading them. A person is the first 64 bits of their
-- pseudonym (the archive never holds a raw id): a compact key whose rare collision only adds
-- an object to a legal hold.
CREATE TABLE IF NOT EXISTS governance.archive_subjects (
    manifest_id  bigint NOT NULL REFERENCES governance.archive_manifests (manifest_id),
    subject_hash bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_subjects_hash_idx ON governance.archive_subjects (subject_hash);

-- Rows that are in a verified archive object but stayed in the table, because their person was
-- put under a legal hold after the object was written. They are never archived again; once the
-- hold is released, the next run deletes them from the table. A row is its key and its clock
-- (event_at, the rule's clock as the object holds it): on a partitioned table the key alone is
-- unique only with the clock.
CREATE TABLE IF NOT EXISTS governance.archive_retained (
    event_id    bigint NOT NULL,
    manifest_id bigint NOT NULL REFERENCES governance.archive_manifests (manifest_id),
    event_at    timestamptz
);
-- Earlier versions kept the key alone, as the primary key. Their rows keep a NULL event_at, which
-- the next archival run fills from each row's verified object (archive/undated_retained.sql);
-- until then such a row keeps every row of its key from being archived again, and deletes none.
ALTER TABLE governance.archive_retained ADD COLUMN IF NOT EXISTS event_at timestamptz;
ALTER TABLE governance.archive_retained DROP CONSTRAINT IF EXISTS archive_retained_pkey;
CREATE UNIQUE INDEX IF NOT EXISTS archive_retained_row_idx ON governance.archive_retained (event_id, event_at)
    NULLS NOT DISTINCT;

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
-- Where a result points (table and column of the app schema, or a bucket), the batch it read
-- (`scope`: full, or the key range of an incremental night), and, when GX could not evaluate the
-- check, the error's class and SQLSTATE (never its message, which can quote a value).
-- sample_keys: up to 1,000 offending rows, each {"key": {...}, "value_sha256": ...}.
ALTER TABLE governance.dq_results ADD COLUMN IF NOT EXISTS check_name text;
ALTER TABLE governance.dq_results ADD COLUMN IF NOT EXISTS table_name text;
ALTER TABLE governance.dq_results ADD COLUMN IF NOT EXISTS column_name text;
ALTER TABLE governance.dq_results ADD COLUMN IF NOT EXISTS scope jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE governance.dq_results ADD COLUMN IF NOT EXISTS error jsonb;

-- The incremental nights of data_quality_checks: per suite and table, the highest key that a
-- successful run validated. The next night reads only keys above it; a weekly full run reads all.
CREATE TABLE IF NOT EXISTS governance.dq_watermarks (
    suite       text NOT NULL,
    table_name  text NOT NULL,
    key_column  text NOT NULL,
    high_key    bigint NOT NULL,
    run_id      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (suite, table_name)
);

-- One row per rule (or erasure) per run of every deleting workflow: the shared run lifecycle
-- (governance.lifecycle). Counts are a jsonb object of named counters, added to in the same
-- transaction as every batch, so they survive a crash: a rerun continues them, and the
-- ledger records them. `error` holds the error class, SQLSTATE and step, never a message.
CREATE TABLE IF NOT EXISTS governance.rule_runs (
    workflow       text NOT NULL,
    run_id         text NOT NULL,
    rule           text NOT NULL,
    target_table   text,
    cutoff         timestamptz,
    policy_sha256  char(64),
    state          text NOT NULL DEFAULT 'running'
                   CHECK (state IN ('running', 'completed', 'failed', 'refused', 'interrupted')),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    counts         jsonb NOT NULL DEFAULT '{}'::jsonb,
    batches        bigint NOT NULL DEFAULT 0,
    error          jsonb,
    backend_pid    integer,
    PRIMARY KEY (workflow, run_id, rule)
);
-- The same counters per table ("sessions.rows_deleted"), for an erasure certificate that says
-- what went from where. Kept with the counts, in the same transactions.
ALTER TABLE governance.rule_runs ADD COLUMN IF NOT EXISTS by_table jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX IF NOT EXISTS rule_runs_running_idx ON governance.rule_runs (workflow, rule) WHERE state = 'running';

-- Sum two objects of counters key by key (a key missing on one side counts as 0).
CREATE OR REPLACE FUNCTION governance.add_counts(total jsonb, delta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(key, amount), '{}'::jsonb)
    FROM (SELECT key, sum(value::bigint) AS amount
          FROM (SELECT key, value FROM jsonb_each_text(total)
                UNION ALL
                SELECT key, value FROM jsonb_each_text(delta)) AS both_sides
          GROUP BY key) AS summed
$$;

-- Data-subject requests (dsr_export, dsr_erasure), one row per request id. The person is named
-- by user id while the request is worked on; once an erasure completes only keyed hashes stay
-- (the pseudonym that erasure leaves on retained rows, and one of the email), so that the row,
-- which outlives the account, does not undo the erasure, and a second submission of the same
-- request, by user id or email, is still recognised. The email itself is never stored. Statuses:
--   received     registered; the work has not started
--   in_progress  the work started (a failed attempt stays here until a rerun finishes it)
--   completed    done; the export bundle or the erasure certificate is in `outcome`
--   refused      not done, for a recorded reason (a legal hold; an unknown person is never registered)
CREATE TABLE IF NOT EXISTS governance.dsr_requests (
    request_id        text PRIMARY KEY CHECK (request_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    kind              text NOT NULL CHECK (kind IN ('export', 'erasure')),
    subject_pseudonym char(64) NOT NULL,
    subject_user_id   bigint,     -- cleared when an erasure completes
    subject_email_key char(64),   -- keyed hash of the account's email (lowercased)
    channel           text NOT NULL,
    jurisdiction      text NOT NULL,
    received_at       timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    extended_due_at   timestamptz,
    extension_reason  text,
    status            text NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'in_progress', 'completed', 'refused')),
    registered_at     timestamptz NOT NULL DEFAULT now(),
    last_run_id       text,
    completed_at      timestamptz,
    refusal           jsonb,  -- the reason's class and counts; never a message from the database
    outcome           jsonb NOT NULL DEFAULT '{}'::jsonb,  -- keys, checksums and counts; never personal values
    bundle_bucket     text,
    bundle_key        text,
    bundle_expires_at timestamptz,
    bundle_deleted_at timestamptz,
    CHECK (extended_due_at IS NULL OR extended_due_at > due_at)
);
CREATE INDEX IF NOT EXISTS dsr_requests_open_idx ON governance.dsr_requests (due_at)
    WHERE status IN ('received', 'in_progress');
CREATE INDEX IF NOT EXISTS dsr_requests_bundles_idx ON governance.dsr_requests (bundle_expires_at)
    WHERE bundle_key IS NOT NULL AND bundle_deleted_at IS NULL;

-- Upgrade: governance.purge_runs (one column per counter, error as text) becomes rule_runs.
-- Its error text is dropped on the way: it could hold row values.
DO $$
BEGIN
    IF to_regclass('governance.purge_runs') IS NOT NULL THEN
        INSERT INTO governance.rule_runs (workflow, run_id, rule, cutoff, policy_sha256, state, started_at,
                                          finished_at, counts, batches, error)
        SELECT 'retention_purge', run_id, rule, cutoff, policy_sha256,
               CASE WHEN finished_at IS NULL THEN 'running' WHEN error IS NULL THEN 'completed'
                    WHEN error LIKE 'interrupted;%' THEN 'interrupted' ELSE 'failed' END,
               started_at, finished_at,
               jsonb_build_object('rows_deleted', rows_deleted, 'rows_pseudonymised', rows_pseudonymised,
                                  'rows_media_marked', rows_media_marked, 'objects_deleted', objects_deleted),
               batches,
               CASE WHEN error IS NOT NULL THEN '{"error_class": "unknown (recorded before upgrade)"}'::jsonb END
        FROM governance.purge_runs
        ON CONFLICT DO NOTHING;
        DROP TABLE governance.purge_runs;
    END IF;
END
$$;

-- Cross-border transfers, counted before the purge or an erasure deletes the rows that record
-- them (cross_border_transfer_report). A capture window is one run's look at the rows whose
-- clock falls in [captured_from, captured_to): windows follow each other with no gap and no
-- overlap, from the first one on. The first capture backfills from what is still in the
-- database ('backfilled': rows deleted before it are not counted); later ones are 'captured'
-- ahead of each purge.
CREATE TABLE IF NOT EXISTS governance.transfer_windows (
    window_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    captured_from   timestamptz NOT NULL,
    captured_to     timestamptz NOT NULL CHECK (captured_to > captured_from),
    method          text NOT NULL CHECK (method IN ('captured', 'backfilled')),
    run_id          text NOT NULL,
    register_sha256 char(64) NOT NULL,
    records         bigint NOT NULL CHECK (records >= 0),
    captured_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfer_windows_no_overlap EXCLUDE USING gist (tstzrange(captured_from, captured_to) WITH &&)
);
-- Aggregates only, never an id: per window, UTC day, recipient and source table, the records
-- transferred, the destination countries and data categories the register gave them when they
-- were captured, and a HyperLogLog sketch (precision 14) of their data subjects: each element
-- is register index * 64 + rank, from a keyed hash of the subject. Sketches merge over any
-- set of days; see docs/decisions/0011-transfer-capture.md.
CREATE TABLE IF NOT EXISTS governance.transfer_daily (
    window_id             bigint NOT NULL REFERENCES governance.transfer_windows ON DELETE CASCADE,
    day                   date NOT NULL,
    recipient             text NOT NULL,
    registered            boolean NOT NULL,
    source_table          text NOT NULL,
    countries             char(2)[] NOT NULL CHECK (cardinality(countries) > 0),
    data_categories       text[] NOT NULL,
    records               bigint NOT NULL CHECK (records > 0),
    records_without_basis bigint NOT NULL DEFAULT 0 CHECK (records_without_basis >= 0),
    subject_sketch        integer[] NOT NULL,
    PRIMARY KEY (window_id, day, recipient, source_table, countries)
);
CREATE INDEX IF NOT EXISTS transfer_daily_day_idx ON governance.transfer_daily (day);
-- The same counts at the grain an auditor asks for: day x recipient x destination country x data
-- category. A record carries several countries and categories: do not add records up across them.
CREATE OR REPLACE VIEW governance.transfer_daily_by_country_category AS
SELECT t.day, t.recipient, t.registered, country, data_category, sum(t.records) AS records
FROM governance.transfer_daily AS t, unnest(t.countries) AS country, unnest(t.data_categories) AS data_category
GROUP BY t.day, t.recipient, t.registered, country, data_category;

-- Partitions that a time-based rule dropped whole (partition_purge.py): which, the range of its
-- bound, the rows that went with it and the held rows it moved first (into the parent table,
-- where the DEFAULT partition takes them), in the same transaction as the drop. The ledger's
-- closing entry of the run names them from here.
CREATE TABLE IF NOT EXISTS governance.partition_drops (
    workflow        text NOT NULL,
    run_id          text NOT NULL,
    rule            text NOT NULL,
    parent_table    text NOT NULL,
    partition_name  text NOT NULL,
    range_from      timestamptz,  -- NULL: no lower bound (MINVALUE)
    range_to        timestamptz NOT NULL,
    rows_deleted    bigint NOT NULL CHECK (rows_deleted >= 0),
    held_rows_moved bigint NOT NULL CHECK (held_rows_moved >= 0),
    detach_us       bigint NOT NULL,  -- detach, move and drop, in microseconds: the exclusive lock on the parent
    dropped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow, run_id, rule, partition_name)
);

-- Detach a partition, move into its parent the rows of people under an active legal hold (the
-- DEFAULT partition, if there is one, takes them: the detached range is no partition's now),
-- drop it, and answer how many rows moved. Runs as the owner of the tables (SECURITY DEFINER):
-- detaching and dropping need ownership, which the workflows' role must not have. It grants no
-- more than deleting: the caller must hold DELETE on the partition, and the function itself
-- keeps the held rows, so a caller cannot skip that. Locks come in the caller's transaction, with
-- its lock_timeout: a plain DETACH takes ACCESS EXCLUSIVE on the parent until the caller commits.
-- The held test is include/sql/purge/held.sql's, restated here because it must run as the owner.
CREATE OR REPLACE FUNCTION governance.drop_partition_keeping_held(part regclass, subject_column name)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parent regclass;
    parent_schema name;
    column_list text;
    moved bigint;
BEGIN
    SELECT i.inhparent, n.nspname INTO parent, parent_schema
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhparent
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE i.inhrelid = part AND NOT i.inhdetachpending;
    IF parent IS NULL THEN
        RAISE EXCEPTION 'not an attached partition' USING ERRCODE = 'wrong_object_type';
    END IF;
    IF parent_schema IN ('governance', 'pg_catalog', 'information_schema') THEN
        RAISE EXCEPTION 'not a partition of application data' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT has_table_privilege(session_user, part, 'DELETE') THEN
        RAISE EXCEPTION 'the caller may not delete from this partition' USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part);
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO column_list
    FROM pg_attribute AS a
    WHERE a.attrelid = parent AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    moved := 0;
    IF subject_column IS NOT NULL THEN  -- a table of no person has no holds
        EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s AS t WHERE EXISTS (SELECT 1 FROM '
                       'governance.legal_holds AS h WHERE h.user_id = t.%I AND h.released_at IS NULL)',
                       parent, column_list, column_list, part, subject_column);
        GET DIAGNOSTICS moved = ROW_COUNT;
    END IF;
    EXECUTE format('DROP TABLE %s', part);
    RETURN moved;
END
$$;
REVOKE ALL ON FUNCTION governance.drop_partition_keeping_held(regclass, name) FROM PUBLIC;
