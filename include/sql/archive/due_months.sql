-- The event months that hold rows to archive now, with how many are due and how many a legal
-- hold keeps: due, younger than the retention (older ones are deleted, not archived), and not
-- already in an archive object (rows a hold kept back after they were archived, by key and clock,
-- or by key alone where an earlier version recorded only the key).
SELECT date_trunc('month', t.{clock} AT TIME ZONE 'UTC') AS month,
       count(*) FILTER (WHERE NOT ({held})) AS due,
       count(*) FILTER (WHERE {held}) AS held
FROM {table} AS t
WHERE {due} AND t.{clock} >= %(retain_cutoff)s
  AND NOT EXISTS (SELECT 1 FROM governance.archive_retained AS r
                  WHERE r.event_id = t.{key} AND (r.event_at = t.{clock} OR r.event_at IS NULL))
GROUP BY 1
ORDER BY 1
