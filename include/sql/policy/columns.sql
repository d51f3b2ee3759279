-- Every column of every table in a schema, to check policy files against the live database:
-- whether it may be NULL, whether it holds text, and the longest text it holds (NULL when
-- unbounded). Read from the catalog, which (unlike information_schema) lists columns the
-- current role has no privilege on.
SELECT c.relname AS table_name,
       a.attname AS column_name,
       NOT a.attnotnull AS nullable,
       t.typcategory = 'S' AS is_text,
       CASE WHEN a.atttypid IN ('bpchar'::regtype, 'varchar'::regtype) AND a.atttypmod > 0
            THEN a.atttypmod - 4 END AS max_length
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_type AS t ON t.oid = a.atttypid
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
