-- One partition wholly past a rule's cutoff, counted under lock_partition.sql: every row; the
-- rows of people under an active legal hold (the drop moves them, it does not delete them);
-- and the rows that are neither due by this rule nor held (under a rule with a `where`, the
-- rows of another rule, such as critical moderation events not yet archived), which make the
-- partition not this rule's to drop. IS NOT TRUE: a row whose test is NULL is not due. Without
-- a `where`, the bounds alone prove every row due: then %(may_hold_rows_not_due)s is false, the
-- planner folds that count to 0, and the partition is read once, not twice.
SELECT (SELECT count(*) FROM {table} AS t) AS total,
       (SELECT count(*) FROM {table} AS t WHERE {held}) AS held,
       (SELECT count(*) FROM {table} AS t
        WHERE %(may_hold_rows_not_due)s AND ({due}) IS NOT TRUE AND NOT ({held})) AS not_due
