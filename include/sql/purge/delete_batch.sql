-- Delete a batch by key, checking again that each row is still due and not held: a row a
-- concurrent writer changed since the batch was chosen survives.
DELETE FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s) AND {due} AND NOT ({held})
RETURNING t.{key}
