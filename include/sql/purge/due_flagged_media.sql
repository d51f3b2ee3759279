-- Fragment: the row still has a media object, and a flagging row (e.g. a moderation
-- event with action content_deleted) points at it.
t.{media_column} IS NOT NULL AND t.{marker_column} IS NULL
AND EXISTS (SELECT 1 FROM {flag_table} AS f WHERE f.{flag_column} = t.{key} AND f.{flag_where_column} = %(flag_value)s)
