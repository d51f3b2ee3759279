-- The reference database's other shape (make seed PARTITIONED=1): app.sessions,
-- app.usage_events and app.moderation_events range-partitioned by month on the clock their
-- retention rules count from (created_at, in include/policy/retention.yaml), as large services
-- run their event tables. Applied by the seeder in place of the plain tables of app.sql, which
-- it drops first; it then adds one partition per month (seed/month_partition.sql).
--
-- Same columns in the same order, with the same defaults, checks, foreign keys and index names
-- as app.sql (moderation_events' user_pseudonym included): a row is the same row in either
-- shape, and applying app.sql to this shape (make services) changes nothing.
--
-- PostgreSQL enforces a unique constraint on a partitioned table per partition, so the primary
-- key must include the partition key: (id, created_at), id first for the purge's key lookups.
-- The id alone is therefore no longer unique in the database, only per instant. No table has a
-- foreign key to these three (moderation_events.generation_id points the other way, and carries
-- none), so nothing else needs the wider key. Their own foreign keys to app.users work as before.
-- The DEFAULT partition takes the rows no month covers, so an insert never fails for want of one.
CREATE TABLE app.sessions (
    session_id bigint NOT NULL,
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    ip_hash    char(64) NOT NULL,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX sessions_user_id_idx ON app.sessions (user_id);
CREATE INDEX sessions_created_at_idx ON app.sessions (created_at);
CREATE TABLE app.sessions_default PARTITION OF app.sessions DEFAULT;

CREATE TABLE app.usage_events (
    event_id   bigint NOT NULL,
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    event_type text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX usage_events_user_id_idx ON app.usage_events (user_id);
CREATE INDEX usage_events_created_at_idx ON app.usage_events (created_at);
CREATE TABLE app.usage_events_default PARTITION OF app.usage_events DEFAULT;

-- Moderation logs outlive the account (legal retention beats erasure): no foreign key on user_id.
CREATE TABLE app.moderation_events (
    event_id       bigint NOT NULL,
    user_id        bigint,
    generation_id  bigint,
    prompt_hash    char(64),
    category       text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('standard', 'critical')),
    action         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    user_pseudonym char(64),
    PRIMARY KEY (event_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX moderation_events_created_at_idx ON app.moderation_events (created_at);
CREATE INDEX moderation_events_user_id_idx ON app.moderation_events (user_id);
CREATE INDEX moderation_events_generation_id_idx ON app.moderation_events (generation_id)
    WHERE action = 'content_deleted';
CREATE INDEX moderation_events_user_pseudonym_idx ON app.moderation_events (user_pseudonym)
    WHERE user_pseudonym IS NOT NULL;
CREATE TABLE app.moderation_events_default PARTITION OF app.moderation_events DEFAULT;
