-- Rows kept back, whose hold was released, that left the table (archive/delete_archived.sql, in
-- the same transaction): no longer kept back. One that a new hold keeps stays recorded.
DELETE FROM governance.archive_retained AS r
USING {rows} AS released
WHERE r.event_id = released.key AND r.event_at = released.clock
  AND NOT EXISTS (SELECT FROM {table} AS t WHERE t.{key} = r.event_id AND t.{clock} = r.event_at)
