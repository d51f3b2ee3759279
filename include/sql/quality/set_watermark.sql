-- Advance a table's watermark after a batch passed; never move it back.
INSERT INTO governance.dq_watermarks (suite, table_name, key_column, high_key, run_id)
VALUES (%(suite)s, %(table_name)s, %(key_column)s, %(high_key)s, %(run_id)s)
ON CONFLICT (suite, table_name) DO UPDATE
SET high_key = greatest(dq_watermarks.high_key, EXCLUDED.high_key), key_column = EXCLUDED.key_column,
    run_id = EXCLUDED.run_id, updated_at = now()
