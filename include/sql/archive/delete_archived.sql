-- Delete rows that a verified archive object holds, unless a legal hold now keeps them.
DELETE FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s) AND NOT ({held})
RETURNING t.{key}
