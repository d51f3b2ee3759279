-- A session lock on one request for the length of its work: a second run of the same request
-- stops at once instead of doing the work twice. Released with the session if the worker dies.
SELECT pg_try_advisory_lock(hashtextextended('governance.dsr:' || %(request_id)s, 0))
