-- A dropped partition, in the drop's own transaction.
INSERT INTO governance.partition_drops (workflow, run_id, rule, parent_table, partition_name, range_from, range_to,
                                        rows_deleted, held_rows_moved, detach_us)
VALUES (%(workflow)s, %(run_id)s, %(rule)s, %(target_table)s, %(partition_name)s, %(range_from)s, %(range_to)s,
        %(rows_deleted)s, %(held_rows_moved)s, %(detach_us)s)
