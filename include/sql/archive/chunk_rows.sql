-- The rows to archive, in event month then key order, as CSV for the Parquet writer: the
-- archive's columns, the subject column and the pseudonym column (the archive keeps only a
-- pseudonym of the person), timestamps in UTC, and the event month, to cut objects at. One statement, one snapshot, one pass over the
-- table for every month; the writer starts a new object at each month and at the size limit.
-- Rows a hold kept back after they were archived are left out, by key and clock (by key alone
-- where an earlier version recorded only the key, until the run dates it).
COPY (
    SELECT {columns}, to_char(t.{clock} AT TIME ZONE 'UTC', 'YYYY-MM') AS month
    FROM {table} AS t
    WHERE {due} AND t.{clock} >= %(retain_cutoff)s
      AND NOT ({held})
      AND NOT EXISTS (SELECT 1 FROM governance.archive_retained AS r
                      WHERE r.event_id = t.{key} AND (r.event_at = t.{clock} OR r.event_at IS NULL))
    ORDER BY date_trunc('month', t.{clock} AT TIME ZONE 'UTC'), t.{key}
    LIMIT %(limit)s
) TO STDOUT WITH (FORMAT csv)
