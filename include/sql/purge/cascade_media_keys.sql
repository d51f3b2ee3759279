-- Media keys of the dependent rows of a batch of subjects, locked until the batch ends, so
-- that no writer changes them between the deletion of their objects and of the rows. With a
-- limit, a chunk of them: its objects, then its rows (cascade_delete_media_rows.sql), go in
-- one short transaction, and a person with 100,000 generations takes many such chunks, never
-- one long transaction that holds its locks while S3 answers. LIMIT NULL means all of them.
SELECT t.{media_column}
FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND t.{media_column} IS NOT NULL AND {filter}
LIMIT %(limit)s
FOR UPDATE
