-- After the batch's own locks: a row or table lock the application holds is waited on for
-- this long only; then the batch rolls back and is retried (lifecycle.RETRYABLE_SQLSTATES).
SET LOCAL lock_timeout = {lock_timeout}
