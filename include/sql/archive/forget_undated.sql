-- One object's rows a hold kept that an earlier version recorded by key alone: forgotten, and
-- recorded again by key and clock (archive/record_retained.sql) in the same transaction.
DELETE FROM governance.archive_retained
WHERE manifest_id = %(manifest_id)s AND event_at IS NULL
RETURNING event_id
