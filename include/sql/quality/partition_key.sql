-- The columns a partitioned table is partitioned on (none for a plain table; an expression in
-- the partition key names no column): an integer id whose primary key PostgreSQL made wider by
-- them is still the id an incremental batch is bounded on.
SELECT a.attname
FROM pg_partitioned_table AS p
JOIN pg_attribute AS a ON a.attrelid = p.partrelid AND a.attnum = ANY (p.partattrs)
WHERE p.partrelid = to_regclass(%(table)s)
ORDER BY a.attnum
