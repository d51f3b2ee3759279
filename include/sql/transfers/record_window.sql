-- A capture window, recorded with its aggregates in the same transaction.
INSERT INTO governance.transfer_windows (captured_from, captured_to, method, run_id, register_sha256, records)
VALUES (%(captured_from)s, %(captured_to)s, %(method)s, %(run_id)s, %(register_sha256)s, %(records)s)
RETURNING window_id
