-- Load the run's canary prompts (one per line).
COPY dq_canary_texts (prompt) FROM STDIN
