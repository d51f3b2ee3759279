-- Rows of a verified object that a legal hold kept in the table: never archived again.
INSERT INTO governance.archive_retained (event_id, manifest_id)
SELECT t.{key}, %(manifest_id)s
FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s)
ON CONFLICT (event_id) DO NOTHING
