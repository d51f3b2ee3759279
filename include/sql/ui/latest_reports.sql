-- The newest report of each workflow, preferring its HTML rendering: what the promises page links to.
SELECT DISTINCT ON (workflow) report_id, workflow, run_id, report_type, object_key, created_at, summary
FROM governance.report_index
ORDER BY workflow, created_at DESC, (content_type LIKE 'text/html%%') DESC, report_id DESC
