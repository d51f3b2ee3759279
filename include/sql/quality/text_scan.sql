-- Batch view: every text, varchar, char and json column of one table read in one pass, with the
-- name of the first column in which the pattern matched (found_in) and the SHA-256 of that
-- column's value: two CASE expressions with one branch per column.
CREATE TEMP VIEW {view} AS
SELECT {keys},
       CASE {found_in} END AS found_in,
       CASE {found_sha256} END AS offending_sha256
FROM {table} AS t
WHERE {bound}
