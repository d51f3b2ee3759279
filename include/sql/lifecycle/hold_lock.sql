-- No legal hold is placed or released while a batch runs: the batch reads the holds after
-- this lock, and a hold placed meanwhile waits for the batch to commit, then protects every
-- later batch. SHARE conflicts with writers only; batches do not wait for each other here.
LOCK TABLE governance.legal_holds IN SHARE MODE
