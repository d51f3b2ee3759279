-- Rows of a verified object still in the table once its delete ran (archive/delete_archived.sql,
-- in the same transaction): a legal hold keeps them. Recorded by key and clock, never archived again.
INSERT INTO governance.archive_retained (event_id, event_at, manifest_id)
SELECT t.{key}, t.{clock}, %(manifest_id)s
FROM {table} AS t
JOIN {rows} AS kept ON t.{key} = kept.key AND t.{clock} = kept.clock
ON CONFLICT (event_id, event_at) DO NOTHING
