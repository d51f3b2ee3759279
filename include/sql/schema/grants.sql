-- What each group role of roles.sql may do in this database. Idempotent; skipped for a role
-- that does not exist. Nobody but the owner may change the ledger or the report index:
-- the workflows append to them, auditors read them, the application cannot touch them.
DO $$
BEGIN
    REVOKE ALL ON ALL TABLES IN SCHEMA governance FROM PUBLIC;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_writer') THEN
        GRANT USAGE ON SCHEMA app TO app_writer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO app_writer;
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_writer;
        REVOKE ALL ON ALL TABLES IN SCHEMA governance FROM app_writer;
        REVOKE ALL ON SCHEMA governance FROM app_writer;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'governance_auditor') THEN
        GRANT USAGE ON SCHEMA governance TO governance_auditor;
        GRANT SELECT ON ALL TABLES IN SCHEMA governance TO governance_auditor;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'governance_workflow')
       AND current_setting('server_version_num')::int < 170000 THEN
        RAISE WARNING 'grants.sql: governance_workflow needs the MAINTAIN privilege of PostgreSQL 17 or later; '
                      'on this server run the workflows as the owner of the governance tables';
    ELSIF EXISTS (SELECT FROM pg_roles WHERE rolname = 'governance_workflow') THEN
        GRANT USAGE ON SCHEMA app, governance TO governance_workflow;
        -- Purge and pseudonymise; no INSERT: the workflows never add application data.
        GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO governance_workflow;
        -- Partitions made later (a new month) too: the purge deletes from each partition directly.
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT, UPDATE, DELETE ON TABLES TO governance_workflow;
        -- Append only. MAINTAIN permits the SHARE ROW EXCLUSIVE lock that serialises appends.
        GRANT SELECT, INSERT, MAINTAIN ON governance.audit_ledger TO governance_workflow;
        -- No UPDATE, not even of report_index.missing_since: only the owner marks a report gone.
        GRANT SELECT, INSERT ON governance.report_index TO governance_workflow;
        -- Read holds; MAINTAIN permits the SHARE lock a batch takes so that no hold is placed mid-batch.
        GRANT SELECT, MAINTAIN ON governance.legal_holds TO governance_workflow;
        GRANT SELECT, INSERT, UPDATE ON governance.rule_runs, governance.archive_manifests, governance.dq_results
            TO governance_workflow;
        GRANT SELECT, INSERT ON governance.archive_subjects TO governance_workflow;
        -- Drop an expired month whole (partition_purge.py): the function runs as the tables' owner.
        GRANT SELECT, INSERT ON governance.partition_drops TO governance_workflow;
        GRANT EXECUTE ON FUNCTION governance.drop_partition_keeping_held(regclass, name) TO governance_workflow;
        GRANT SELECT, INSERT, DELETE ON governance.archive_retained TO governance_workflow;
        GRANT SELECT, INSERT, UPDATE ON governance.dsr_requests TO governance_workflow;
        GRANT SELECT, INSERT, UPDATE ON governance.dq_watermarks TO governance_workflow;
        -- Captures only add windows; MAINTAIN permits the lock that serialises two captures.
        GRANT SELECT, INSERT, MAINTAIN ON governance.transfer_windows TO governance_workflow;
        GRANT SELECT, INSERT ON governance.transfer_daily TO governance_workflow;
        GRANT SELECT ON governance.transfer_daily_by_country_category TO governance_workflow;
        -- A retried suite replaces its own results of the same run (quality/forget_run.sql).
        GRANT DELETE ON governance.dq_results TO governance_workflow;
    END IF;
    -- The Governance view: it reads the evidence, and places and releases legal holds with their ledger
    -- entries. It may not delete a hold or anything else, and sees of the app schema only that an
    -- account id exists (no email, no row). The workflows may not touch holds: a compromised purge
    -- cannot release one. MAINTAIN permits the locks that order holds and appends.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'governance_steward')
       AND current_setting('server_version_num')::int >= 170000 THEN
        GRANT USAGE ON SCHEMA app, governance TO governance_steward;
        GRANT SELECT ON ALL TABLES IN SCHEMA governance TO governance_steward;
        GRANT SELECT (user_id) ON app.users TO governance_steward;
        GRANT INSERT, MAINTAIN ON governance.legal_holds TO governance_steward;
        GRANT UPDATE (released_at, released_by, release_reason) ON governance.legal_holds TO governance_steward;
        GRANT INSERT, MAINTAIN ON governance.audit_ledger TO governance_steward;
    END IF;
END
$$;
