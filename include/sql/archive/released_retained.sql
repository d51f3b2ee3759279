-- Archived rows a legal hold kept in the table, whose hold is now released: a chunk of them, by
-- key and clock, locked, to delete from the table (they are in their archive object already).
SELECT t.{key}, t.{clock}
FROM governance.archive_retained AS r
JOIN {table} AS t ON t.{key} = r.event_id AND t.{clock} = r.event_at
WHERE NOT ({held})
ORDER BY t.{key}, t.{clock}
LIMIT %(limit)s
FOR UPDATE OF t
