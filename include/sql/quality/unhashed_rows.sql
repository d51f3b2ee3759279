-- How many of the finding's rows still hold something other than a SHA-256 hex in the column.
SELECT count(*)
FROM {table} AS t
WHERE ({keys}) IN (SELECT {key_fields} FROM jsonb_to_recordset(%(keys)s) AS k({key_types}))
  AND t.{column} !~ '^[0-9a-f]{{64}}$'
