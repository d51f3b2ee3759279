-- Tables (and views) of a schema that have a column of this name: the tables that can name a
-- person by the subject's key. Partitions are left out: their parent stands for them.
SELECT c.relname
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND a.attname = %(column)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname
