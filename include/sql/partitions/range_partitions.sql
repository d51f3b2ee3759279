-- The partitions of a table that is range-partitioned on one column, that column being the
-- given clock (a date or timestamp column, so that its bounds are instants): one row per
-- direct partition, with its bound as PostgreSQL prints it (pg_get_expr: DEFAULT, or FOR VALUES
-- FROM (...) TO (...)) and whether a DETACH ... CONCURRENTLY of it was interrupted. One row
-- with a NULL partition when the table is partitioned that way but has no partition yet; no
-- row at all when it is not: a plain table, another strategy (list, hash), another column,
-- several columns, or an expression (partattrs holds 0 for an expression, which joins no
-- column).
SELECT child_namespace.nspname AS partition_schema,
       child.relname AS partition_name,
       pg_get_expr(child.relpartbound, child.oid) AS bound,
       inheritance.inhdetachpending AS detach_pending
FROM pg_class AS parent
JOIN pg_namespace AS parent_namespace ON parent_namespace.oid = parent.relnamespace
JOIN pg_partitioned_table AS partitioning ON partitioning.partrelid = parent.oid
JOIN pg_attribute AS key_column
    ON key_column.attrelid = parent.oid AND key_column.attnum = partitioning.partattrs[0]
LEFT JOIN pg_inherits AS inheritance ON inheritance.inhparent = parent.oid
LEFT JOIN pg_class AS child ON child.oid = inheritance.inhrelid
LEFT JOIN pg_namespace AS child_namespace ON child_namespace.oid = child.relnamespace
WHERE parent_namespace.nspname = %(schema)s AND parent.relname = %(table)s
  AND partitioning.partstrat = 'r' AND partitioning.partnatts = 1
  AND key_column.attname = %(clock)s
  AND key_column.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
ORDER BY child_namespace.nspname, child.relname
