-- Least-privilege group roles (cluster-wide). Created when the applying role may create
-- roles; otherwise a DBA creates them once, with these names, and grants.sql grants them
-- what they need in each database. Log-in roles are made members of one of them:
--   governance_workflow  the workflows: read the app schema, delete and pseudonymise rows,
--                        append to the ledger and the report index; never rewrite either
--   governance_auditor   read-only on the governance schema
--   governance_steward   the Governance view: reads the governance schema, places and releases
--                        legal holds, appends their ledger entries; deletes nothing
--   app_writer           the application itself: its own tables, nothing in governance
DO $$
DECLARE
    name text;
BEGIN
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        RAISE NOTICE 'roles.sql: % may not create roles; a DBA must create them', current_user;
        RETURN;
    END IF;
    FOREACH name IN ARRAY ARRAY['governance_workflow', 'governance_auditor', 'governance_steward', 'app_writer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
END
$$;
