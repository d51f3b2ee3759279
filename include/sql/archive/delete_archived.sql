-- Delete rows that a verified archive object holds, unless a legal hold now keeps them.
DELETE FROM {table} AS t
USING unnest(%(keys)s::bigint[]) AS archived(key)
WHERE t.{key} = archived.key AND NOT ({held})
RETURNING t.{key}
