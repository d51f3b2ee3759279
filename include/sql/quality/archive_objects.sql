-- Batch view: the archive objects as this run found them.
CREATE TEMP VIEW {view} AS
SELECT manifest_id, object_exists, sha256_matches, lock_mode, retain_until, recorded_retain_until,
       required_until, NULL::text AS offending_sha256
FROM dq_archive_objects
