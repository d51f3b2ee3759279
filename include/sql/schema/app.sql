-- Reference application database (schema app): every kind of data the privacy policy names.
-- Idempotent: safe to apply to an existing database.
CREATE SCHEMA IF NOT EXISTS app;

CREATE TABLE IF NOT EXISTS app.users (
    user_id      bigint PRIMARY KEY,
    email        text NOT NULL,
    display_name text,
    country      char(2),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    trust_score  numeric(5, 2) NOT NULL DEFAULT 50
);
CREATE INDEX IF NOT EXISTS users_deleted_at_idx ON app.users (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS app.sessions (
    session_id bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    ip_hash    char(64) NOT NULL,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON app.sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_created_at_idx ON app.sessions (created_at);

CREATE TABLE IF NOT EXISTS app.usage_events (
    event_id   bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    event_type text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS usage_events_user_id_idx ON app.usage_events (user_id);
CREATE INDEX IF NOT EXISTS usage_events_created_at_idx ON app.usage_events (created_at);

CREATE TABLE IF NOT EXISTS app.cookie_consents (
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    category   text NOT NULL CHECK (category IN ('essential', 'functional', 'analytics')),
    granted    boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category)
);

CREATE TABLE IF NOT EXISTS app.generations (
    generation_id  bigint PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('image', 'video')),
    prompt_hash    char(64) NOT NULL,
    model_provider text NOT NULL,
    media_key      text,
    status         text NOT NULL DEFAULT 'completed',
    created_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE INDEX IF NOT EXISTS generations_user_id_idx ON app.generations (user_id);
CREATE INDEX IF NOT EXISTS generations_deleted_at_idx ON app.generations (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS generations_created_at_idx ON app.generations (created_at);

CREATE TABLE IF NOT EXISTS app.uploads (
    upload_id  bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app.users (user_id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('image', 'video')),
    media_key  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX IF NOT EXISTS uploads_user_id_idx ON app.uploads (user_id);
CREATE INDEX IF NOT EXISTS uploads_deleted_at_idx ON app.uploads (deleted_at) WHERE deleted_at IS NOT NULL;

-- Moderation logs outlive the account (legal retention beats erasure): no foreign key on user_id.
CREATE TABLE IF NOT EXISTS app.moderation_events (
    event_id      bigint PRIMARY KEY,
    user_id       bigint,
    generation_id bigint,
    prompt_hash   char(64),
    category      text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('standard', 'critical')),
    action        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS moderation_events_created_at_idx ON app.moderation_events (created_at);
CREATE INDEX IF NOT EXISTS moderation_events_user_id_idx ON app.moderation_events (user_id);
CREATE INDEX IF NOT EXISTS moderation_events_generation_id_idx ON app.moderation_events (generation_id)
    WHERE action = 'content_deleted';

-- Payments outlive the account for as long as the law of billing_country requires: no foreign key.
CREATE TABLE IF NOT EXISTS app.payments (
    payment_id      bigint PRIMARY KEY,
    user_id         bigint,
    processor       text NOT NULL,
    amount_minor    bigint NOT NULL,
    currency        char(3) NOT NULL,
    billing_country char(2) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payments_user_id_idx ON app.payments (user_id);
CREATE INDEX IF NOT EXISTS payments_country_created_idx ON app.payments (billing_country, created_at);

CREATE TABLE IF NOT EXISTS app.disclosures (
    disclosure_id bigint PRIMARY KEY,
    user_id       bigint,
    authority     text NOT NULL,
    country       char(2) NOT NULL,
    legal_basis   text NOT NULL,
    disclosed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS disclosures_user_id_idx ON app.disclosures (user_id);

-- Columns this product adds to the reference tables (nullable, so existing writers are
-- unaffected). ADD COLUMN IF NOT EXISTS also upgrades a database made by an older version.
-- When media is deleted but the row must stay (prohibited content), when it happened:
ALTER TABLE app.generations ADD COLUMN IF NOT EXISTS media_deleted_at timestamptz;
-- When an account is erased, rows the law makes outlive it lose user_id and keep a keyed hash:
ALTER TABLE app.payments ADD COLUMN IF NOT EXISTS user_pseudonym char(64);
ALTER TABLE app.moderation_events ADD COLUMN IF NOT EXISTS user_pseudonym char(64);
ALTER TABLE app.disclosures ADD COLUMN IF NOT EXISTS user_pseudonym char(64);
-- The rows of erased accounts that the law keeps are found by pseudonym (an erasure certificate,
-- a data-subject check): small partial indexes, since only erased accounts' rows carry one.
CREATE INDEX IF NOT EXISTS payments_user_pseudonym_idx ON app.payments (user_pseudonym)
    WHERE user_pseudonym IS NOT NULL;
CREATE INDEX IF NOT EXISTS moderation_events_user_pseudonym_idx ON app.moderation_events (user_pseudonym)
    WHERE user_pseudonym IS NOT NULL;
CREATE INDEX IF NOT EXISTS disclosures_user_pseudonym_idx ON app.disclosures (user_pseudonym)
    WHERE user_pseudonym IS NOT NULL;
