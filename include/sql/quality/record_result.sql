INSERT INTO governance.dq_results (run_id, suite, expectation, check_name, target, table_name, column_name,
                                   success, severity, unexpected_count, sample_keys, scope, error)
VALUES (%(run_id)s, %(suite)s, %(expectation)s, %(check_name)s, %(target)s, %(table_name)s, %(column_name)s,
        %(success)s, %(severity)s, %(unexpected_count)s, %(sample_keys)s, %(scope)s, %(error)s)
RETURNING result_id
