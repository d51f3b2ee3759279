-- Archived rows that left the table: no longer kept back.
DELETE FROM governance.archive_retained AS r
WHERE r.event_id = ANY(%(keys)s)
