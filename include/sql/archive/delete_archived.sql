-- Delete the rows that a verified archive object holds, unless a legal hold now keeps them: each
-- by its key and its clock, both as read back from the object. On a partitioned table the key is
-- unique only with the clock, so the key alone could delete a row that was never archived.
DELETE FROM {table} AS t
USING {rows} AS archived
WHERE t.{key} = archived.key AND t.{clock} = archived.clock AND NOT ({held})
