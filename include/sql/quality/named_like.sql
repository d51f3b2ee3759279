-- Batch view: columns of the schema whose name suggests raw text of a kind the policy keeps
-- only hashed (prompt, caption, ...), other than the allowed ones. Partitions are left out:
-- their parent stands for them.
CREATE TEMP VIEW {view} AS
SELECT c.relname::text AS table_name, a.attname::text AS column_name, NULL::text AS offending_sha256
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname ~* {pattern}
  AND NOT (c.relname || '.' || a.attname = ANY ({allowed}::text[]))
