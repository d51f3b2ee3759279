-- One chunk of a month's rows to archive, in key order, as CSV for the Parquet writer: the
-- archive's columns, the subject column and the pseudonym column (the archive keeps only a
-- pseudonym of the person), timestamps in UTC. One statement: one snapshot.
COPY (
    SELECT {columns}
    FROM {table} AS t
    WHERE {due} AND t.{clock} >= %(retain_cutoff)s
      AND t.{clock} >= %(month_start)s AND t.{clock} < %(month_end)s AND t.{key} > %(after)s
      AND NOT ({held})
      AND NOT EXISTS (SELECT 1 FROM governance.archive_retained AS r WHERE r.event_id = t.{key})
    ORDER BY t.{key}
    LIMIT %(limit)s
) TO STDOUT WITH (FORMAT csv)
