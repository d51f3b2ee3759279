-- Replace what the finding's rows hold in a hash column by its SHA-256, computed here: the raw
-- value never leaves the database. Rows that hold a hash already are left alone, so a rerun
-- changes nothing.
UPDATE {table} AS t
SET {column} = encode(sha256(convert_to(t.{column}::text, 'UTF8')), 'hex')
WHERE ({keys}) IN (SELECT {key_fields} FROM jsonb_to_recordset(%(keys)s) AS k({key_types}))
  AND t.{column} !~ '^[0-9a-f]{{64}}$'
