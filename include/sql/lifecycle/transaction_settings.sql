-- Settings for this transaction only (SET LOCAL: a pooled session is left as it was), sent
-- with the batch locks below in one round trip. synchronous_commit off lets a block-walk
-- batch commit without waiting for its WAL to reach disk: a server crash may then undo the
-- last few batches, their rows and their counts together, and the next run deletes and
-- accounts for them again; the run's closing ledger entry commits synchronously, which makes
-- every earlier batch durable before it reports.
SET LOCAL synchronous_commit = {synchronous_commit};
SET LOCAL lock_timeout = {lock_timeout};
SET LOCAL statement_timeout = {statement_timeout};
SET LOCAL idle_in_transaction_session_timeout = {idle_timeout}
