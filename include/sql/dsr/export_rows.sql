-- Every row of one table about one person, every column ({schema}, {table}, {subject_column} and
-- {order} come from the data map, quoted), read through a server-side cursor.
SELECT * FROM {schema}.{table} WHERE {subject_column} = %(subject)s ORDER BY {order}
