-- A recorded result, as the remediation reads it: where it points and the rows it names.
SELECT result_id, run_id, suite, check_name, expectation, table_name, column_name, success, sample_keys, error
FROM governance.dq_results
WHERE result_id = %(result_id)s
