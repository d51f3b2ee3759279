-- Whether a table still holds a person's id ({schema}, {table}, {key} quoted by the caller).
SELECT EXISTS (SELECT FROM {schema}.{table} WHERE {key} = %(subject)s)
