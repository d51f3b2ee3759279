-- The canary prompts of this run, in session-local tables that only this connection sees (the
-- GX data source shares it): their texts (loaded by COPY, so that no statement log shows them),
-- their hashes, and one regular expression that matches any of their texts literally.
CREATE TEMP TABLE IF NOT EXISTS dq_canary_texts (prompt text NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS dq_canary_hashes (sha256 text PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS dq_canary_pattern (pattern text NOT NULL);
TRUNCATE dq_canary_texts, dq_canary_hashes, dq_canary_pattern;
