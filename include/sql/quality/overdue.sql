-- Batch view: rows of a retention rule past its cutoff that no legal hold protects: rows the
-- purge should have removed, with the purge's own fragments (include/sql/purge/).
CREATE TEMP VIEW {view} AS
SELECT {keys}, NULL::text AS offending_sha256
FROM {table} AS t
WHERE {due} AND NOT {held}
