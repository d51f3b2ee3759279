-- The media keys of a chunk of the dependent rows of a batch of subjects, locked: the chunk's
-- objects are deleted, then its rows (cascade_delete_media_rows.sql), in one short
-- transaction. A person with 100,000 generations takes many such chunks, never one long
-- transaction that holds its locks while S3 answers.
SELECT t.{media_column}
FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND t.{media_column} IS NOT NULL AND {filter}
LIMIT %(limit)s
FOR UPDATE
