-- Load the run's canary hashes (one per line).
COPY dq_canary_hashes (sha256) FROM STDIN
