-- Fragment: the objects the rows of one table still need (a media key, its media not deleted) that the media
-- bucket's listing (dq_media_objects, quality/media_listing.sql) lacks.
SELECT t.{media_column} AS object_key
FROM {table} AS t
WHERE t.{media_column} IS NOT NULL AND {still_needed}
  AND NOT EXISTS (SELECT FROM dq_media_objects AS o WHERE o.object_key = t.{media_column})
