-- How many rows a rule would touch now, and how many of them a legal hold protects.
SELECT count(*) FILTER (WHERE NOT ({held})) AS eligible,
       count(*) FILTER (WHERE {held}) AS held
FROM {table} AS t
WHERE {due}
