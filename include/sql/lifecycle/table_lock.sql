-- A batch's lock on one table it will change, for this transaction. Batches take these in
-- name order, before any row lock, so two rules that touch the same tables (an erasure and
-- the sessions rule, say) run their batches one after the other and never deadlock.
SELECT pg_advisory_xact_lock(hashtextextended({lock_name}, 0))
