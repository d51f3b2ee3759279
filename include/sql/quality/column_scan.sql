-- Batch view: one table read in one pass for a suite. The checked columns are, as the table has
-- them: its declared hash column (hashed_value, the SHA-256 of what it holds, and hash_missing,
-- set when a row has no hash though it should), and its text, varchar, char and json columns
-- tested with the suite's pattern (found_in names the first column in which it matched, and
-- found_in_sha256 hashes that column's value). A finding names values by these hashes, never by
-- the value; like every view column they are computed only for the rows a query asks them of.
CREATE TEMP VIEW {view} AS
SELECT {keys}, {checked}, NULL::text AS offending_sha256
FROM {table} AS t
WHERE {bound}
