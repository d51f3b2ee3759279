-- Lock the rows of a batch that are still due and not held, in key order, and return their
-- media keys: only these rows' objects are deleted, and only after this lock and the hold
-- check, so a row whose person was put on hold since the batch was chosen keeps its media.
-- For an erasure the rows are the subjects: while they are locked no new dependent row can
-- reference them (a foreign key check takes a share lock on the subject row).
SELECT t.{key} AS key, {media} AS media_key
FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s) AND {due} AND NOT ({held})
ORDER BY t.{key}
FOR UPDATE
