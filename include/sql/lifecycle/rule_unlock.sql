-- Release the per-rule lock (rule_lock.sql).
SELECT pg_advisory_unlock(hashtextextended(%(lock_name)s, 0))
