-- Delete the dependent rows whose media objects a chunk just deleted (cascade_media_keys.sql).
DELETE FROM {table} AS t
WHERE t.{subject_column} = ANY(%(subjects)s) AND t.{media_column} = ANY(%(media_keys)s) AND {filter}
