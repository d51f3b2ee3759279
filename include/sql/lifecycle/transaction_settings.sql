-- Settings for this transaction only (SET LOCAL: a pooled session is left as it was), sent
-- with the batch's locks in one round trip (lifecycle.RuleRun._begin):
-- - READ COMMITTED whatever the role's default, so that each statement sees the holds that
--   were committed before the batch took its lock on them;
-- - synchronous_commit off lets a block-walk batch commit without waiting for its WAL to
--   reach disk: a server crash may then undo the last few batches, their rows and their
--   counts together, and the next run deletes and accounts for them again; the run's closing
--   ledger entry commits synchronously, which makes every earlier batch durable;
-- - the lock timeout here bounds the wait for another rule's batch on a shared table (ours:
--   short, never held for long); application_lock_timeout.sql then sets the one for the
--   application's locks.
SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
SET LOCAL synchronous_commit = {synchronous_commit};
SET LOCAL lock_timeout = {batch_lock_timeout};
SET LOCAL statement_timeout = {statement_timeout};
SET LOCAL idle_in_transaction_session_timeout = {idle_timeout}
