-- Add a batch's counts, in the same transaction as the batch itself.
UPDATE governance.purge_runs
SET rows_deleted = rows_deleted + %(rows_deleted)s,
    rows_pseudonymised = rows_pseudonymised + %(rows_pseudonymised)s,
    rows_media_marked = rows_media_marked + %(rows_media_marked)s,
    objects_deleted = objects_deleted + %(objects_deleted)s,
    batches = batches + 1
WHERE run_id = %(run_id)s AND rule = %(rule)s
RETURNING rows_deleted, rows_pseudonymised, rows_media_marked, objects_deleted, batches
