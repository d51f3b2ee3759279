-- The next batch of due rows after a key, walking the key in order, so each batch is a
-- short index range scan and the walk ends.
SELECT t.{key} AS key, {media} AS media_key
FROM {table} AS t
WHERE t.{key} > %(after)s AND {due} AND NOT ({held})
ORDER BY t.{key}
LIMIT %(limit)s
