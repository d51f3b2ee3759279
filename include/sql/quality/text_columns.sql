-- The text, varchar, char and json columns of each table of a schema (partitions left out).
SELECT c.relname, a.attname
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_type AS ty ON ty.oid = a.atttypid
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
  AND ty.typname IN ('text', 'varchar', 'bpchar', 'json', 'jsonb', 'citext')
ORDER BY c.relname, a.attnum
