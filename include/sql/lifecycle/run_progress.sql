-- Add a batch's counts, in the same transaction as the batch itself (or, for what a failed
-- batch did that cannot be rolled back, such as deleted objects, on their own).
UPDATE governance.rule_runs
SET counts = governance.add_counts(counts, %(delta)s), batches = batches + %(batches)s,
    by_table = governance.add_counts(by_table, %(by_table)s)
WHERE workflow = %(workflow)s AND run_id = %(run_id)s AND rule = %(rule)s
RETURNING counts, batches, by_table
