-- Set synchronous_commit for the rest of the session; returns the value it had.
-- The block walk turns it off while it runs, so that a batch commits without waiting for its
-- WAL to reach disk. A server crash may then undo the last few batches, their rows and their
-- purge_runs counts together, and the next run deletes and accounts for them again. The
-- rule's closing ledger entry commits synchronously, after the setting is restored, which
-- makes every earlier batch durable before the rule reports success.
WITH old AS MATERIALIZED (SELECT current_setting('synchronous_commit') AS value)
SELECT old.value AS previous, set_config('synchronous_commit', %(value)s, false) AS current
FROM old
