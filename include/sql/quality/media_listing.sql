-- The media bucket's listing of this run, in a session-local table filled page by page.
CREATE TEMP TABLE IF NOT EXISTS dq_media_objects (object_key text PRIMARY KEY);
TRUNCATE dq_media_objects;
