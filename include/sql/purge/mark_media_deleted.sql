-- Record on the row that its media object is gone; the row itself stays.
UPDATE {table} AS t
SET {marker_column} = %(marked_at)s
WHERE t.{key} = ANY(%(keys)s) AND t.{marker_column} IS NULL AND NOT ({held})
RETURNING t.{key}
