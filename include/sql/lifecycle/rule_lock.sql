-- The per-rule lock: a session-level advisory lock, held for the whole run of one rule, so
-- that a second run of the same rule cannot start while the first one lives. It is released
-- when the run ends, or with its session if the worker dies (the run is then accounted for
-- as interrupted by the next one).
SELECT pg_try_advisory_lock(hashtextextended(%(lock_name)s, 0)) AS acquired
