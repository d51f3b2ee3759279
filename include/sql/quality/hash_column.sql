-- Batch view: a column declared to hold a SHA-256 hex (data_map.yaml `hashed`), with the row's
-- key. offending_sha256 hashes what is stored, so that a finding names a value without repeating
-- it; like every view column, it is computed only for the rows a query asks it of. Rows that
-- may have no hash (data_map.yaml `hash_absent_when`) and have none are not in the batch.
CREATE TEMP VIEW {view} AS
SELECT {keys}, t.{column} AS hashed_value,
       encode(sha256(convert_to(t.{column}::text, 'UTF8')), 'hex') AS offending_sha256
FROM {table} AS t
WHERE {bound} AND NOT (t.{column} IS NULL AND {absent})
