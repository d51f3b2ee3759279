-- Stop writes to the partition (readers go on) until the drop commits, so that its counts are
-- exact when it goes. This lock comes before the parent's (the drop's DETACH), the reverse of
-- the order an UPDATE or DELETE through the parent takes them: the drop's lock_timeout is far
-- below deadlock_timeout, so if the two ever wait on each other it is the drop that gives up,
-- and retries, never the application.
LOCK TABLE {table} IN EXCLUSIVE MODE
