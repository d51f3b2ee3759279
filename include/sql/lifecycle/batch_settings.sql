-- Settings for one batch transaction only (SET LOCAL semantics: a pooled session is left
-- as it was). synchronous_commit off lets a batch commit without waiting for its WAL to
-- reach disk: a server crash may then undo the last few batches, their rows and their counts
-- together, and the next run deletes and accounts for them again; the run's closing ledger
-- entry commits synchronously, which makes every earlier batch durable before it reports.
SELECT set_config('synchronous_commit', %(synchronous_commit)s, true),
       set_config('lock_timeout', %(lock_timeout)s, true),
       set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('idle_in_transaction_session_timeout', %(idle_timeout)s, true)
