-- Delete a batch's locked rows by key (lock_due.sql chose and locked them).
DELETE FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s)
