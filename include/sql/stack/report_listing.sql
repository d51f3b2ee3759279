-- The object versions in the buckets the report index names, in a session-local table filled page by page.
CREATE TEMP TABLE IF NOT EXISTS stack_report_objects (bucket text, object_key text, version_id text);
TRUNCATE stack_report_objects;
