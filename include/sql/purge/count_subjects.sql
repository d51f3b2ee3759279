-- How many of the named people exist, and how many of them a legal hold protects.
SELECT count(*) AS found, count(*) FILTER (WHERE {held}) AS held
FROM {table} AS t
WHERE t.{key} = ANY(%(keys)s)
