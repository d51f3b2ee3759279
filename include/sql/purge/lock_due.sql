-- Lock the rows of a batch that are still due and not held (subjects of an erasure), so
-- no new dependent row can reference them until the batch commits.
SELECT t.{key}
FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s) AND {due} AND NOT ({held})
ORDER BY t.{key}
FOR UPDATE
