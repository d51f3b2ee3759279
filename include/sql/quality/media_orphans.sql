-- Batch view: objects in the media bucket that no row still needs: no row names them, or the
-- row's media was deleted (one EXISTS per table with a media column: media_live.sql).
CREATE TEMP VIEW {view} AS
SELECT o.object_key, encode(sha256(convert_to(o.object_key, 'UTF8')), 'hex') AS offending_sha256
FROM dq_media_objects AS o
WHERE NOT ({live})
