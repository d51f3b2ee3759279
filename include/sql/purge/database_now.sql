-- The database's clock: the latest instant a run's cutoff may name.
SELECT now()
