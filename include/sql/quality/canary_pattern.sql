-- From the loaded texts: their SHA-256, and one alternation of them, each character that is
-- special in a regular expression escaped.
INSERT INTO dq_canary_hashes (sha256)
SELECT DISTINCT encode(sha256(convert_to(prompt, 'UTF8')), 'hex') FROM dq_canary_texts;
INSERT INTO dq_canary_pattern (pattern)
SELECT string_agg(regexp_replace(prompt, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g'), '|') FROM dq_canary_texts;
