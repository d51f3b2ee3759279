-- A rule's due rows by event month, and how many of them a legal hold keeps: for the
-- archival's report, counted before the rules run.
SELECT date_trunc('month', t.{clock} AT TIME ZONE 'UTC') AS month,
       count(*) FILTER (WHERE NOT ({held})) AS due,
       count(*) FILTER (WHERE {held}) AS held
FROM {table} AS t
WHERE {due}
GROUP BY 1
ORDER BY 1
