-- Whether a partition is still attached to its table, and not half detached (an interrupted
-- DETACH ... CONCURRENTLY): the partition list was read at the run's check, and another run, a
-- rule on the same table or a DBA may have dropped or detached it since.
SELECT EXISTS (
    SELECT FROM pg_inherits AS inheritance
    WHERE inheritance.inhrelid = to_regclass(quote_ident(%(partition_schema)s) || '.' || quote_ident(%(partition)s))
      AND inheritance.inhparent = to_regclass(quote_ident(%(schema)s) || '.' || quote_ident(%(table)s))
      AND NOT inheritance.inhdetachpending
)
