-- Archived rows a legal hold kept in the table, whose hold is now released: a chunk of them,
-- locked, to delete from the table (they are in their archive object already).
SELECT t.{key}
FROM governance.archive_retained AS r
JOIN {table} AS t ON t.{key} = r.event_id
WHERE NOT ({held})
ORDER BY t.{key}
LIMIT %(limit)s
FOR UPDATE OF t
