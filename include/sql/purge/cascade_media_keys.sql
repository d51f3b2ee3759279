-- Media objects of the dependent rows of a batch of subjects, locked until the batch ends, so
-- that no writer changes them between the deletion of their objects and of the rows.
SELECT t.{media_column}
FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND t.{media_column} IS NOT NULL AND {filter}
FOR UPDATE
