-- Record on the locked rows that their media object is gone; the rows themselves stay.
UPDATE {table} AS t
SET {marker_column} = %(marked_at)s
WHERE t.{key} = ANY(%(keys)s)
