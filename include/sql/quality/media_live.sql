-- Fragment: a row of this table names the object and still needs it.
EXISTS (SELECT 1 FROM {table} AS t WHERE t.{media_column} = o.object_key AND {still_needed})
