-- The oldest row still in a source table: where the first capture's backfill begins.
SELECT min({clock}) FROM {table}
