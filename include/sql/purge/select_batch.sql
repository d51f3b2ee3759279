-- The next batch of due keys after a key, walking the key in order, so each batch is a short
-- index range scan and the walk ends. No row is locked here: each batch locks its own rows
-- and checks the holds again (lock_due.sql) before it deletes any object.
SELECT t.{key} AS key
FROM {table} AS t
WHERE t.{key} > %(after)s AND {due} AND NOT ({held})
ORDER BY t.{key}
LIMIT %(limit)s
