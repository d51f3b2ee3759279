-- The primary key columns of a table, in key order, with their types.
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_index AS i
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = to_regclass(%(table)s) AND i.indisprimary
ORDER BY array_position(i.indkey, a.attnum)
