-- The newest report of each workflow, preferring its HTML rendering: what the promises page links to as evidence,
-- so only a report whose object is still in its bucket (one found gone would be a dead link; the report index
-- page still lists it, as gone).
SELECT DISTINCT ON (workflow) report_id, workflow, run_id, report_type, object_key, created_at, summary
FROM governance.report_index
WHERE missing_since IS NULL
ORDER BY workflow, created_at DESC, (content_type LIKE 'text/html%%') DESC, report_id DESC
