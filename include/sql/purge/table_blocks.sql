-- The heap relations that hold a table's rows, for the block walk: the table itself, or every
-- leaf partition of a partitioned table (a partitioned parent has no blocks of its own).
-- For each: its kind (a foreign-table partition has no heap to walk), whether this role may
-- delete from it directly (a partition made later by another role may lack the grant), its
-- blocks now (the walk's end), and its rows per block as of the last VACUUM or ANALYZE (NULL
-- when never measured).
WITH target AS (
    SELECT c.oid, c.relkind
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s AND c.relname = %(table)s
), heaps AS (
    SELECT oid FROM target WHERE relkind = 'r'
    UNION ALL
    SELECT tree.relid FROM target, pg_partition_tree(target.oid) AS tree WHERE target.relkind = 'p' AND tree.isleaf
)
SELECT n.nspname AS schema, c.relname AS relation, c.relkind = 'r' AS has_heap,
       has_table_privilege(c.oid, 'DELETE') AS deletable,
       CASE WHEN c.relkind = 'r' THEN pg_relation_size(c.oid) / current_setting('block_size')::bigint ELSE 0 END
           AS blocks,
       CASE WHEN c.reltuples > 0 AND c.relpages > 0 THEN c.reltuples / c.relpages END AS rows_per_block
FROM heaps
JOIN pg_class AS c ON c.oid = heaps.oid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
ORDER BY n.nspname, c.relname
