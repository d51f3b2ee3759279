-- Batch view: one row of the table whose hash column holds the SHA-256 of a canary prompt, if
-- there is one. A canary's hash in the table proves that the application's hashing path ran.
CREATE TEMP VIEW {view} AS
SELECT {keys}, NULL::text AS offending_sha256
FROM {table} AS t
WHERE t.{column} IN (SELECT sha256 FROM dq_canary_hashes)
LIMIT 1
