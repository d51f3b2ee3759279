-- Detach the partition, move its held rows into the parent, drop it (include/sql/schema/
-- governance.sql); answers the rows moved.
SELECT governance.drop_partition_keeping_held(
    to_regclass(quote_ident(%(partition_schema)s) || '.' || quote_ident(%(partition)s)), %(subject_column)s)
