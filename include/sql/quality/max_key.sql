-- The highest key now: an incremental batch reads keys up to it, and the next night starts there.
SELECT max(t.{key}) FROM {table} AS t
