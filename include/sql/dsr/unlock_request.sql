SELECT pg_advisory_unlock(hashtextextended('governance.dsr:' || %(request_id)s, 0))
