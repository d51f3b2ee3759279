SELECT result_id, suite, check_name, expectation, target, table_name, column_name, success, severity,
       unexpected_count, jsonb_array_length(sample_keys) AS sampled, scope, error
FROM governance.dq_results
WHERE run_id = %(run_id)s
ORDER BY suite, result_id
