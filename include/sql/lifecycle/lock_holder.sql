-- Who holds a per-rule lock: the session's pid, and the run it registered, if any.
SELECT l.pid, r.run_id, r.started_at
FROM pg_locks AS l
LEFT JOIN governance.rule_runs AS r
       ON r.backend_pid = l.pid AND r.workflow = %(workflow)s AND r.rule = %(rule)s AND r.state = 'running'
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%(lock_name)s, 0)
ORDER BY r.started_at DESC NULLS LAST
LIMIT 1
