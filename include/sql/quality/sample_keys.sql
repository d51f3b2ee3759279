-- The rows GX named by key (second pass): their keys and the SHA-256 of their value.
SELECT {columns}
FROM {view}
WHERE ({order}) IN (SELECT {key_fields} FROM jsonb_to_recordset(%s) AS k({key_types}))
ORDER BY {order}
