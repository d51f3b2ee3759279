-- The partitions one run of a rule dropped, oldest range first, for its ledger entry and report.
SELECT partition_name, range_from, range_to, rows_deleted, held_rows_moved, detach_us
FROM governance.partition_drops
WHERE workflow = %(workflow)s AND run_id = %(run_id)s AND rule = %(rule)s
ORDER BY range_to, partition_name
