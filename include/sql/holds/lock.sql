-- A hold is placed or released between purge batches, never during one (batches hold SHARE:
-- lifecycle/hold_lock.sql), and two changes to holds never interleave.
LOCK TABLE governance.legal_holds IN SHARE ROW EXCLUSIVE MODE
