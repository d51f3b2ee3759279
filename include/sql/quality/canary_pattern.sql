INSERT INTO dq_canary_pattern (pattern) VALUES (%(pattern)s)
