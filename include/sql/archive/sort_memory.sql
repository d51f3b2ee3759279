-- For the archive's copy only (this transaction): enough memory to sort a pass of rows by month
-- without spilling to temporary files.
SET LOCAL work_mem = '128MB'
