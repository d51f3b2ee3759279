-- Stop writes to the partition (readers go on) until the drop commits, so that its counts are
-- exact when it goes. This lock comes before the parent's (the drop's DETACH), the reverse of
-- the order an UPDATE or DELETE through the parent takes them: the drop's lock_timeout is far
-- below deadlock_timeout, so if the two ever wait on each other it is the drop that gives up,
-- and retries, never the application.
-- The DETACH then takes the parent's lock, then this partition's ACCESS EXCLUSIVE: a query through the
-- parent holds the parent too, so once the drop has the parent only a session reading this
-- partition directly can still make it wait, for lock_timeout at most, with the parent held.
LOCK TABLE {table} IN EXCLUSIVE MODE
