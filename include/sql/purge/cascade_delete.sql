-- Delete the dependent rows of a batch of subjects.
DELETE FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND {filter}
