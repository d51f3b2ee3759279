-- Every column of every table in a schema, to check policy files against the live database:
-- whether it may be NULL, whether it holds text, and the longest text it holds (NULL when
-- unbounded). Read from the catalog, which (unlike information_schema) lists columns the
-- current role has no privilege on.
-- A column of a domain type is judged by the domain's base type and length (and a domain's
-- own NOT NULL counts).
SELECT c.relname AS table_name,
       a.attname AS column_name,
       NOT (a.attnotnull OR coalesce(t.typnotnull, false)) AS nullable,
       base.typcategory = 'S' AS is_text,
       CASE WHEN base.oid IN ('bpchar'::regtype, 'varchar'::regtype) AND typmod.value > 0
            THEN typmod.value - 4 END AS max_length
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_type AS t ON t.oid = a.atttypid
JOIN pg_type AS base ON base.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS value) AS typmod
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
