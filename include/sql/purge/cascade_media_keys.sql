-- Media objects of the dependent rows of a batch of subjects.
SELECT t.{media_column}
FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND t.{media_column} IS NOT NULL AND {filter}
