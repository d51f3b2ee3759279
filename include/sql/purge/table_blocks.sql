-- The heap blocks a table has now (the block walk's end) and its rows per block as of the
-- last VACUUM or ANALYZE (NULL when never measured).
SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint AS blocks,
       CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN c.reltuples / c.relpages END AS rows_per_block
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(table)s
