-- What this run found about each archive object, in a session-local table, one row per manifest:
-- whether the version exists, whether the SHA-256 of its bytes (recomputed, on the nights that
-- read them) matches the manifest, its Object Lock mode and date, and the dates it must reach.
CREATE TEMP TABLE IF NOT EXISTS dq_archive_objects (
    manifest_id           bigint PRIMARY KEY,
    object_exists         boolean NOT NULL,
    sha256_matches        boolean,
    lock_mode             text,
    retain_until          timestamptz,
    recorded_retain_until timestamptz,
    required_until        timestamptz
);
TRUNCATE dq_archive_objects;
