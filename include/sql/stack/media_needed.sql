-- Fragment: how many objects the rows of one table still need (a media key, its media not deleted).
SELECT count(*) AS needed FROM {table} AS t WHERE t.{media_column} IS NOT NULL AND {still_needed}
