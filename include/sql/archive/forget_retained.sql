-- Archived rows that left the table, by key and clock: no longer kept back.
DELETE FROM governance.archive_retained AS r
USING unnest(%(keys)s::bigint[], %(clocks)s::timestamptz[]) AS gone(key, clock)
WHERE r.event_id = gone.key AND r.event_at = gone.clock
