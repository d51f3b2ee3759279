-- Rows of a verified object that a legal hold kept in the table, by key and clock as the object
-- holds them: never archived again.
INSERT INTO governance.archive_retained (event_id, event_at, manifest_id)
SELECT t.{key}, t.{clock}, %(manifest_id)s
FROM {table} AS t
JOIN unnest(%(keys)s::bigint[], %(clocks)s::timestamptz[]) AS kept(key, clock)
  ON t.{key} = kept.key AND t.{clock} = kept.clock
ON CONFLICT (event_id, event_at) DO NOTHING
