-- Batch view: rows that name a person whose account row is gone: an erased account's id left
-- behind (the erasure deletes such rows, or pseudonymises them and clears the id).
CREATE TEMP VIEW {view} AS
SELECT {keys}, NULL::text AS offending_sha256
FROM {table} AS t
WHERE t.{subject_column} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {subject_table} AS s WHERE s.{subject_key} = t.{subject_column})
